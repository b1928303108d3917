// Package cub loads CUB-200-2011 (Wah et al. 2011): 11,788 bird photographs
// of 200 species with bounding boxes, 15 part locations with visibility
// and a train/test split, as text tables beside an images/ folder. Objects
// are cropped by their box; the landmarks are head, back and tail (see
// Landmarks). CUB has no part masks, so its examples carry landmarks only
// (location instability applies, part interpretability does not).
package cub

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Landmarks are CUB's landmarks for the location-instability metric.
var Landmarks = []string{"head", "back", "tail"}

// HeadParts are the part names whose visible points are averaged into the
// head landmark: the points on the head itself (not nape or throat, which
// lie on the neck).
var HeadParts = []string{"crown", "forehead", "beak", "left eye", "right eye"}

// Groups names the part groups. CUB has no part masks: the list only
// satisfies the annotation schema (the background plus the bird).
var Groups = []string{"background", "bird"}

// Files are the tables Load reads, relative to the dataset root.
var Files = struct{ Images, Labels, Split, Boxes, Classes, Parts, PartLocs string }{
	"images.txt", "image_class_labels.txt", "train_test_split.txt", "bounding_boxes.txt",
	"classes.txt", filepath.Join("parts", "parts.txt"), filepath.Join("parts", "part_locs.txt"),
}

// Image is one annotated image.
type Image struct {
	ID    int
	Path  string // relative to images/
	Class int    // 1-based class id
	Train bool
	// Box is x, y, width, height in pixels.
	Box [4]float64
	// Parts are the part locations by 1-based part id (index 0 unused).
	Parts []PartLoc
}

// PartLoc is one part location.
type PartLoc struct {
	X, Y    float64
	Visible bool
}

// Dataset is the parsed tables.
type Dataset struct {
	Root      string
	Classes   []string // by class id - 1
	PartNames []string // by part id - 1
	Images    []Image  // by image id - 1
	// Fingerprint hashes the bytes of the tables.
	Fingerprint string
}

// table parses a whitespace-separated table: every non-empty line has
// exactly cols fields (the last may hold spaces if restJoined); fn gets the
// 1-based line number. Errors name the file and the line.
func table(name string, r io.Reader, cols int, restJoined bool, fn func(fields []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if restJoined && len(fields) > cols {
			// A name with spaces (parts.txt: "1 left eye").
			fields = append(fields[:cols-1], strings.Join(fields[cols-1:], " "))
		}
		if len(fields) != cols {
			return fmt.Errorf("cub %s:%d: %d fields, want %d: %q", name, line, len(fields), cols, text)
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("cub %s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cub %s: %w", name, err)
	}
	return nil
}

func positiveInt(s, what string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("%s %q is not a positive integer", what, s)
	}
	return v, nil
}

func finite(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s %q is not a finite number", what, s)
	}
	return v, nil
}

// idSlot checks that an id indexes a table of n rows and was not seen.
func idSlot(id, n int, seen []bool, what string) error {
	if id > n {
		return fmt.Errorf("%s %d is beyond the %d entries", what, id, n)
	}
	if seen[id-1] {
		return fmt.Errorf("%s %d appears twice", what, id)
	}
	seen[id-1] = true
	return nil
}

// Parse reads the tables from files (by the names in Files); open returns
// a file's contents. It is Load without the file system, for tests and fuzzing.
func Parse(open func(name string) ([]byte, error)) (*Dataset, error) {
	d := &Dataset{}
	h := sha256.New()
	read := func(name string) (io.Reader, error) {
		b, err := open(name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s:%d:", name, len(b))
		h.Write(b)
		return bytes.NewReader(b), nil
	}
	// Names first: classes and parts, numbered 1..n in order.
	names := func(file, what string) ([]string, error) {
		r, err := read(file)
		if err != nil {
			return nil, err
		}
		var out []string
		err = table(file, r, 2, true, func(f []string) error {
			id, err := positiveInt(f[0], what+" id")
			if err != nil {
				return err
			}
			if id != len(out)+1 {
				return fmt.Errorf("%s id %d out of order, want %d", what, id, len(out)+1)
			}
			out = append(out, f[1])
			return nil
		})
		return out, err
	}
	var err error
	if d.Classes, err = names(Files.Classes, "class"); err != nil {
		return nil, err
	}
	if d.PartNames, err = names(Files.Parts, "part"); err != nil {
		return nil, err
	}
	r, err := read(Files.Images)
	if err != nil {
		return nil, err
	}
	if err := table(Files.Images, r, 2, false, func(f []string) error {
		id, err := positiveInt(f[0], "image id")
		if err != nil {
			return err
		}
		if id != len(d.Images)+1 {
			return fmt.Errorf("image id %d out of order, want %d", id, len(d.Images)+1)
		}
		if p := filepath.Clean(f[1]); filepath.IsAbs(p) || strings.HasPrefix(p, "..") {
			return fmt.Errorf("image path %q leaves images/", f[1])
		}
		d.Images = append(d.Images, Image{ID: id, Path: f[1], Class: -1, Parts: make([]PartLoc, len(d.PartNames)+1)})
		return nil
	}); err != nil {
		return nil, err
	}
	n := len(d.Images)
	perImage := func(file string, cols int, fn func(im *Image, f []string) error) error {
		r, err := read(file)
		if err != nil {
			return err
		}
		seen := make([]bool, n)
		err = table(file, r, cols, false, func(f []string) error {
			id, err := positiveInt(f[0], "image id")
			if err != nil {
				return err
			}
			if err := idSlot(id, n, seen, "image id"); err != nil {
				return err
			}
			return fn(&d.Images[id-1], f[1:])
		})
		if err != nil {
			return err
		}
		if k := slices.Index(seen, false); k >= 0 {
			return fmt.Errorf("cub %s: no line for image %d", file, k+1)
		}
		return nil
	}
	if err := perImage(Files.Labels, 2, func(im *Image, f []string) error {
		c, err := positiveInt(f[0], "class id")
		if err != nil {
			return err
		}
		if c > len(d.Classes) {
			return fmt.Errorf("class id %d is beyond the %d classes of %s", c, len(d.Classes), Files.Classes)
		}
		im.Class = c
		return nil
	}); err != nil {
		return nil, err
	}
	if err := perImage(Files.Split, 2, func(im *Image, f []string) error {
		switch f[0] {
		case "0", "1":
			im.Train = f[0] == "1"
			return nil
		}
		return fmt.Errorf("is_training_image %q, want 0 or 1", f[0])
	}); err != nil {
		return nil, err
	}
	if err := perImage(Files.Boxes, 5, func(im *Image, f []string) error {
		for k := range 4 {
			v, err := finite(f[k], [4]string{"x", "y", "width", "height"}[k])
			if err != nil {
				return err
			}
			im.Box[k] = v
		}
		if im.Box[2] <= 0 || im.Box[3] <= 0 {
			return fmt.Errorf("box %v has no area", im.Box)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// part_locs: one line per (image, part).
	r, err = read(Files.PartLocs)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, n*len(d.PartNames))
	if err := table(Files.PartLocs, r, 5, false, func(f []string) error {
		id, err := positiveInt(f[0], "image id")
		if err != nil {
			return err
		}
		p, err := positiveInt(f[1], "part id")
		if err != nil {
			return err
		}
		if id > n || p > len(d.PartNames) {
			return fmt.Errorf("image %d part %d is beyond the %d images and %d parts", id, p, n, len(d.PartNames))
		}
		if err := idSlot((id-1)*len(d.PartNames)+p, len(seen), seen, "(image, part)"); err != nil {
			return fmt.Errorf("image %d part %d appears twice", id, p)
		}
		x, err := finite(f[2], "x")
		if err != nil {
			return err
		}
		y, err := finite(f[3], "y")
		if err != nil {
			return err
		}
		if f[4] != "0" && f[4] != "1" {
			return fmt.Errorf("visible %q, want 0 or 1", f[4])
		}
		d.Images[id-1].Parts[p] = PartLoc{X: x, Y: y, Visible: f[4] == "1"}
		return nil
	}); err != nil {
		return nil, err
	}
	d.Fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return d, nil
}

// Load parses the tables under root (see Files).
func Load(root string) (*Dataset, error) {
	d, err := Parse(func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			return nil, fmt.Errorf("cub: %w", err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	d.Root = root
	return d, nil
}

// Landmarks computes an image's head, back and tail landmarks in image
// coordinates: head is the mean of the visible HeadParts, back and tail the
// parts of those names; a landmark without visible points is not visible.
func (d *Dataset) Landmarks(im *Image) []parts.Landmark {
	var out []parts.Landmark
	for _, name := range Landmarks {
		members := []string{name}
		if name == "head" {
			members = HeadParts
		}
		var sx, sy, n float64
		for p, pn := range d.PartNames {
			if slices.Contains(members, pn) && im.Parts[p+1].Visible {
				sx, sy, n = sx+im.Parts[p+1].X, sy+im.Parts[p+1].Y, n+1
			}
		}
		if n > 0 {
			out = append(out, parts.Landmark{Name: name, X: sx / n, Y: sy / n, Visible: true})
		} else {
			out = append(out, parts.Landmark{Name: name})
		}
	}
	return out
}

// Collection is the split's images ("train" or "test" by
// train_test_split.txt) as objects of their species. With asBird every
// object is of the one category "bird", as the paper's single-category CUB
// task takes all birds as positives.
func (d *Dataset) Collection(split string, asBird bool) (*partset.Collection, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("cub: split %q, want train or test", split)
	}
	c := &partset.Collection{Source: "cub200", Split: split, Fingerprint: d.Fingerprint, Categories: d.Classes, Groups: Groups, Landmarks: Landmarks}
	if asBird {
		c.Source, c.Categories = "cub200-birds", []string{"bird"}
	}
	for k := range d.Images {
		im := &d.Images[k]
		if im.Train != (split == "train") {
			continue
		}
		cat := im.Class - 1
		if asBird {
			cat = 0
		}
		c.Objects = append(c.Objects, partset.Object{Key: strconv.Itoa(im.ID), Category: cat, Open: d.opener(im)})
	}
	return c, nil
}

func (d *Dataset) opener(im *Image) func() (*partset.Annotation, error) {
	return func() (*partset.Annotation, error) {
		path := filepath.Join(d.Root, "images", im.Path)
		img, err := partset.DecodeImageFile(path)
		if err != nil {
			return nil, err
		}
		x, y, w, h := im.Box[0], im.Box[1], im.Box[2], im.Box[3]
		box := image.Rect(int(math.Floor(x)), int(math.Floor(y)), int(math.Ceil(x+w)), int(math.Ceil(y+h)))
		if b := img.Bounds(); box.Intersect(image.Rect(0, 0, b.Dx(), b.Dy())).Empty() {
			return nil, fmt.Errorf("cub: box %v of image %d lies outside %s (%d×%d)", im.Box, im.ID, path, b.Dx(), b.Dy())
		}
		return &partset.Annotation{Image: img, Box: box, Landmarks: d.Landmarks(im)}, nil
	}
}
