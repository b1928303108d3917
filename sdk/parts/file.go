package parts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
)

// FormatV1 is the value of the "format" field of a version-1 annotation file.
const FormatV1 = "icnnlab-annotations/v1"

// MaxPixels bounds width×height of one image and MaxTotalPixels the masks
// of a whole file, so that a few bytes of corrupt RLE cannot make the
// parser allocate gigabytes.
const (
	MaxPixels      = 1 << 26
	MaxTotalPixels = 1 << 30
)

// fileJSON is the on-disk layout; docs/metrics.md documents it.
type fileJSON struct {
	Format     string      `json:"format"`
	Categories []string    `json:"categories"`
	Groups     []string    `json:"groups"`
	Landmarks  []string    `json:"landmarks"`
	Images     []imageJSON `json:"images"`
}

type imageJSON struct {
	Width     int            `json:"width"`
	Height    int            `json:"height"`
	Category  string         `json:"category"`
	Mask      *maskJSON      `json:"mask,omitempty"`
	Landmarks []landmarkJSON `json:"landmarks"`
}

// maskJSON holds exactly one of RLE and PNG.
type maskJSON struct {
	// RLE is row-major runs as flat (group id, run length) pairs.
	RLE []int `json:"rle,omitempty"`
	// PNG is a path, relative to the annotation file, of an 8-bit grey or
	// paletted PNG whose pixel values are group ids.
	PNG string `json:"png,omitempty"`
}

type landmarkJSON struct {
	Name    string  `json:"name"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Visible *bool   `json:"visible,omitempty"` // omitted: visible
}

// Parse reads an annotation file. PNG masks are opened in dir (normally
// os.DirFS of the file's directory); with dir nil a PNG mask is an error.
// Every error names the image index and the field at fault.
func Parse(data []byte, dir fs.FS) (*Set, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("annotations: trailing data after the top-level object")
	}
	if f.Format != FormatV1 {
		return nil, fmt.Errorf("annotations: format %q, want %q", f.Format, FormatV1)
	}
	set := &Set{Categories: f.Categories, Groups: f.Groups, Landmarks: f.Landmarks}
	// Check the name lists before they are used to resolve image fields.
	if err := (&Set{Categories: f.Categories, Groups: f.Groups, Landmarks: f.Landmarks}).Validate(); err != nil {
		return nil, err
	}
	categoryID := map[string]int{}
	for i, c := range f.Categories {
		categoryID[c] = i
	}
	set.Images = make([]Image, len(f.Images))
	total := 0
	for n, ij := range f.Images {
		if ij.Mask != nil && ij.Width > 0 && ij.Height > 0 && ij.Width <= MaxPixels/ij.Height {
			if total += ij.Width * ij.Height; total > MaxTotalPixels {
				return nil, fmt.Errorf("annotations: image %d: masks so far exceed %d pixels in all", n, MaxTotalPixels)
			}
		}
		im, err := decodeImage(ij, categoryID, len(f.Groups), dir)
		if err != nil {
			return nil, fmt.Errorf("annotations: image %d: %w", n, err)
		}
		set.Images[n] = im
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return set, nil
}

func decodeImage(ij imageJSON, categoryID map[string]int, numGroups int, dir fs.FS) (Image, error) {
	if ij.Width < 1 || ij.Height < 1 {
		return Image{}, fmt.Errorf("width×height %d×%d: both must be positive", ij.Width, ij.Height)
	}
	if ij.Width > MaxPixels/ij.Height {
		return Image{}, fmt.Errorf("width×height %d×%d exceeds %d pixels", ij.Width, ij.Height, MaxPixels)
	}
	c, ok := categoryID[ij.Category]
	if !ok {
		return Image{}, fmt.Errorf("category: %q is not in the file's categories", ij.Category)
	}
	im := Image{Width: ij.Width, Height: ij.Height, Category: c}
	if ij.Mask != nil {
		mask, err := decodeMask(*ij.Mask, ij.Width, ij.Height, numGroups, dir)
		if err != nil {
			return Image{}, fmt.Errorf("mask: %w", err)
		}
		im.GroupMask = mask
	}
	for i, l := range ij.Landmarks {
		visible := l.Visible == nil || *l.Visible
		if l.Name == "" {
			return Image{}, fmt.Errorf("landmarks[%d]: name is empty", i)
		}
		im.Landmarks = append(im.Landmarks, Landmark{Name: l.Name, X: l.X, Y: l.Y, Visible: visible})
	}
	return im, nil
}

func decodeMask(m maskJSON, w, h, numGroups int, dir fs.FS) ([]uint8, error) {
	switch {
	case m.RLE != nil && m.PNG != "":
		return nil, fmt.Errorf("has both rle and png, want one")
	case m.RLE != nil:
		return decodeRLE(m.RLE, w, h, numGroups)
	case m.PNG != "":
		return readPNGMask(m.PNG, w, h, dir)
	}
	return nil, fmt.Errorf("has neither rle nor png")
}

func decodeRLE(rle []int, w, h, numGroups int) ([]uint8, error) {
	if len(rle)%2 != 0 {
		return nil, fmt.Errorf("rle: %d numbers, want (group id, run length) pairs", len(rle))
	}
	total := w * h
	mask := make([]uint8, 0, total)
	for i := 0; i < len(rle); i += 2 {
		id, run := rle[i], rle[i+1]
		if id < 0 || id >= numGroups {
			return nil, fmt.Errorf("rle: run %d: group id %d, want [0,%d)", i/2, id, numGroups)
		}
		if run < 1 {
			return nil, fmt.Errorf("rle: run %d: length %d, want ≥ 1", i/2, run)
		}
		if run > total-len(mask) {
			return nil, fmt.Errorf("rle: run %d overruns the %d×%d image", i/2, w, h)
		}
		for range run {
			mask = append(mask, uint8(id))
		}
	}
	if len(mask) != total {
		return nil, fmt.Errorf("rle: covers %d pixels, want %d×%d = %d", len(mask), w, h, total)
	}
	return mask, nil
}

func readPNGMask(path string, w, h int, dir fs.FS) ([]uint8, error) {
	if dir == nil {
		return nil, fmt.Errorf("png %q: no directory to resolve it in", path)
	}
	if !fs.ValidPath(path) {
		return nil, fmt.Errorf("png %q: want a slash-separated path relative to the annotation file, without ..", path)
	}
	file, err := dir.Open(path)
	if err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		return nil, fmt.Errorf("png %s: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("png %s: %d×%d, want %d×%d", path, b.Dx(), b.Dy(), w, h)
	}
	mask := make([]uint8, w*h)
	switch p := img.(type) {
	case *image.Gray:
		for y := range h {
			copy(mask[y*w:(y+1)*w], p.Pix[y*p.Stride:y*p.Stride+w])
		}
	case *image.Paletted:
		for y := range h {
			copy(mask[y*w:(y+1)*w], p.Pix[y*p.Stride:y*p.Stride+w])
		}
	default:
		return nil, fmt.Errorf("png %s: colour model %T, want 8-bit grey or paletted (pixel value = group id)", path, img)
	}
	return mask, nil
}

// EncodeRLE is the (group id, run length) pairs of a row-major mask.
func EncodeRLE(mask []uint8) []int {
	var out []int
	for i := 0; i < len(mask); {
		j := i
		for j < len(mask) && mask[j] == mask[i] {
			j++
		}
		out = append(out, int(mask[i]), j-i)
		i = j
	}
	return out
}

// Marshal writes s as a version-1 annotation file with RLE masks.
func Marshal(s *Set) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	f := fileJSON{Format: FormatV1, Categories: s.Categories, Groups: s.Groups, Landmarks: s.Landmarks,
		Images: make([]imageJSON, len(s.Images))}
	for n, im := range s.Images {
		ij := imageJSON{Width: im.Width, Height: im.Height, Category: s.Categories[im.Category],
			Landmarks: []landmarkJSON{}}
		if im.GroupMask != nil {
			ij.Mask = &maskJSON{RLE: EncodeRLE(im.GroupMask)}
		}
		for _, l := range im.Landmarks {
			visible := l.Visible
			ij.Landmarks = append(ij.Landmarks, landmarkJSON{Name: l.Name, X: l.X, Y: l.Y, Visible: &visible})
		}
		f.Images[n] = ij
	}
	return json.MarshalIndent(f, "", " ")
}
