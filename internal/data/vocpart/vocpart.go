// Package vocpart loads Pascal VOC Part (Chen et al., CVPR 2014): part
// segmentations of the VOC 2010 images, one MATLAB file per image
// (Annotations_Part/<id>.mat) holding a struct `anno` with `imname` and a
// struct array `objects` (class, classIndex, mask, parts{part_name, mask}).
// The paper uses the six animal categories; their fine parts are merged
// into the part groups head, torso, legs and tail (see PartGroup), and the
// landmarks are the centroids of the head, neck and torso masks.
package vocpart

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/matv5"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Categories are the 20 VOC classes, in VOC order.
var Categories = []string{"aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
	"diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"}

// Animals are the six categories the paper evaluates.
var Animals = []string{"bird", "cat", "cow", "dog", "horse", "sheep"}

// Groups are the part groups by id (0 background), Landmarks the landmarks.
var (
	Groups    = []string{"background", "head", "torso", "legs", "tail"}
	Landmarks = []string{"head", "neck", "torso"}
)

// classAliases maps spellings used by annotation tools to the VOC names.
var classAliases = map[string]string{"table": "diningtable", "tv": "tvmonitor", "plant": "pottedplant", "aeroplane": "aeroplane", "airplane": "aeroplane", "motorbike": "motorbike"}

// PartGroup is the group id of an animal's fine part name, or 0 and false
// for names outside the mapping. The mapping (documented in
// docs/datasets.md): head = head, eyes, ears, nose, muzzle, beak, horns;
// torso = torso, neck, wings; legs = legs (upper and lower), feet, paws,
// hooves; tail = tail.
func PartGroup(name string) (int, bool) {
	n := strings.ToLower(name)
	switch n {
	case "head", "leye", "reye", "lear", "rear", "nose", "muzzle", "beak", "lhorn", "rhorn":
		return 1, true
	case "torso", "neck", "lwing", "rwing":
		return 2, true
	case "tail":
		return 4, true
	}
	for _, suffix := range []string{"leg", "foot", "pa", "ho"} {
		// lleg, rleg, lfoot; lfleg, rbleg; lfpa (paw); lfho (hoof); lfuleg, lblleg (upper/lower).
		if strings.HasSuffix(n, suffix) && len(n) <= len(suffix)+3 && strings.Trim(n[:len(n)-len(suffix)], "lrfbu") == "" {
			return 3, true
		}
	}
	return 0, false
}

// Object is one object of an annotation file.
type Object struct {
	Class string
	// Mask is the object's pixels, row-major H×W.
	Mask []uint8
	// Parts are the fine parts (name, row-major H×W mask).
	Parts []Part
}

// Part is one fine part of an object.
type Part struct {
	Name string
	Mask []uint8
}

// Annotation is one decoded annotation file.
type Annotation struct {
	ImName        string
	Width, Height int
	Objects       []Object
}

// ReadAnnotation decodes Annotations_Part/<id>.mat; errors name the file
// and the object or part at fault.
func ReadAnnotation(path string) (*Annotation, error) {
	f, err := matv5.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeAnnotation(f, path)
}

func decodeAnnotation(f *matv5.File, path string) (*Annotation, error) {
	anno, ok := f.Var("anno")
	if !ok || anno.Class != matv5.Struct || anno.Len() != 1 {
		return nil, fmt.Errorf("voc part %s: no 1×1 struct variable \"anno\"", path)
	}
	out := &Annotation{Width: -1, Height: -1}
	if im, ok := anno.Field(0, "imname"); ok && im.Class == matv5.Char {
		out.ImName = im.Text
	}
	objects, ok := anno.Field(0, "objects")
	if !ok {
		return nil, fmt.Errorf("voc part %s: anno has no field \"objects\"", path)
	}
	if objects.Len() == 0 {
		return out, nil
	}
	if objects.Class != matv5.Struct {
		return nil, fmt.Errorf("voc part %s: anno.objects is %s, want a struct array", path, objects.Class)
	}
	mask := func(a *matv5.Array, what string) ([]uint8, error) {
		plane, rows, cols, err := a.RowMajorUint8()
		if err != nil {
			return nil, fmt.Errorf("voc part %s: %s: %w", path, what, err)
		}
		if out.Width < 0 {
			out.Width, out.Height = cols, rows
		} else if cols != out.Width || rows != out.Height {
			return nil, fmt.Errorf("voc part %s: %s is %d×%d, earlier masks are %d×%d", path, what, rows, cols, out.Height, out.Width)
		}
		for k, v := range plane {
			if v > 1 {
				return nil, fmt.Errorf("voc part %s: %s has value %d at pixel %d, want 0 or 1", path, what, v, k)
			}
		}
		return plane, nil
	}
	for k := range objects.Len() {
		what := fmt.Sprintf("objects(%d)", k+1)
		cls, ok := objects.Field(k, "class")
		if !ok || cls.Class != matv5.Char {
			return nil, fmt.Errorf("voc part %s: %s.class is missing or not text", path, what)
		}
		name := strings.ToLower(strings.TrimSpace(cls.Text))
		if alias, ok := classAliases[name]; ok {
			name = alias
		}
		if !slices.Contains(Categories, name) {
			return nil, fmt.Errorf("voc part %s: %s.class %q is not a VOC class", path, what, cls.Text)
		}
		m, ok := objects.Field(k, "mask")
		if !ok {
			return nil, fmt.Errorf("voc part %s: %s has no mask", path, what)
		}
		obj := Object{Class: name}
		var err error
		if obj.Mask, err = mask(m, what+".mask"); err != nil {
			return nil, err
		}
		parts, ok := objects.Field(k, "parts")
		if ok && parts.Len() > 0 {
			if parts.Class != matv5.Struct {
				return nil, fmt.Errorf("voc part %s: %s.parts is %s, want a struct array", path, what, parts.Class)
			}
			for p := range parts.Len() {
				pw := fmt.Sprintf("%s.parts(%d)", what, p+1)
				pn, ok := parts.Field(p, "part_name")
				if !ok || pn.Class != matv5.Char {
					return nil, fmt.Errorf("voc part %s: %s.part_name is missing or not text", path, pw)
				}
				pm, ok := parts.Field(p, "mask")
				if !ok {
					return nil, fmt.Errorf("voc part %s: %s has no mask", path, pw)
				}
				plane, err := mask(pm, pw+".mask")
				if err != nil {
					return nil, err
				}
				obj.Parts = append(obj.Parts, Part{Name: pn.Text, Mask: plane})
			}
		}
		out.Objects = append(out.Objects, obj)
	}
	return out, nil
}

// Groups is object o's part-group mask (row-major, 0 background) and its
// landmarks (centroids of the head group, the neck part and the torso
// part). Only the six animals have a part mapping; other names are errors.
func (o *Object) Groups(width, height int) ([]uint8, []parts.Landmark, error) {
	groups := make([]uint8, width*height)
	var sx, sy, n [3]float64 // head, neck, torso
	for _, p := range o.Parts {
		g, ok := PartGroup(p.Name)
		if !ok {
			return nil, nil, fmt.Errorf("%s part %q has no part group", o.Class, p.Name)
		}
		lm := -1
		switch strings.ToLower(p.Name) {
		case "neck":
			lm = 1
		case "torso":
			lm = 2
		}
		for k, v := range p.Mask {
			if v == 0 {
				continue
			}
			groups[k] = uint8(g)
			x, y := float64(k%width)+0.5, float64(k/width)+0.5
			if g == 1 {
				sx[0], sy[0], n[0] = sx[0]+x, sy[0]+y, n[0]+1
			}
			if lm >= 0 {
				sx[lm], sy[lm], n[lm] = sx[lm]+x, sy[lm]+y, n[lm]+1
			}
		}
	}
	var lms []parts.Landmark
	for k, name := range Landmarks {
		if n[k] > 0 {
			lms = append(lms, parts.Landmark{Name: name, X: sx[k] / n[k], Y: sy[k] / n[k], Visible: true})
		} else {
			lms = append(lms, parts.Landmark{Name: name})
		}
	}
	return groups, lms, nil
}

// Box is the bounding box of the object's mask.
func (o *Object) Box(width int) image.Rectangle {
	var r image.Rectangle
	for k, v := range o.Mask {
		if v != 0 {
			r = r.Union(image.Rect(k%width, k/width, k%width+1, k/width+1))
		}
	}
	return r
}

// Load reads split ("train" or "val") of the VOC Part layout under root:
// the image list ImageSets/Main/<split>.txt, annotations
// Annotations_Part/<id>.mat and images JPEGImages/<id>.jpg. Every object of
// every listed image is a collection object (category = its VOC class);
// the six animals carry part groups and landmarks.
func Load(root, split string) (*partset.Collection, error) {
	list := filepath.Join(root, "ImageSets", "Main", split+".txt")
	ids, err := readList(list)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	c := &partset.Collection{Source: "voc-part", Split: split, Categories: Categories, Groups: Groups, Landmarks: Landmarks}
	for _, id := range ids {
		path := filepath.Join(root, "Annotations_Part", id+".mat")
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("voc part: image %s of %s: %w", id, list, err)
		}
		h.Write(raw)
		f, err := matv5.Decode(raw, path)
		if err != nil {
			return nil, err
		}
		a, err := decodeAnnotation(f, path)
		if err != nil {
			return nil, err
		}
		for k, o := range a.Objects {
			c.Objects = append(c.Objects, partset.Object{
				Key: fmt.Sprintf("%s#%d", id, k), Category: slices.Index(Categories, o.Class),
				Open: openObject(root, id, path, k),
			})
		}
	}
	c.Fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return c, nil
}

func openObject(root, id, path string, k int) func() (*partset.Annotation, error) {
	return func() (*partset.Annotation, error) {
		a, err := ReadAnnotation(path)
		if err != nil {
			return nil, err
		}
		if k >= len(a.Objects) {
			return nil, fmt.Errorf("voc part %s: object %d of %d (file changed since loading)", path, k+1, len(a.Objects))
		}
		imgPath := filepath.Join(root, "JPEGImages", id+".jpg")
		img, err := partset.DecodeImageFile(imgPath)
		if err != nil {
			return nil, err
		}
		if b := img.Bounds(); b.Dx() != a.Width || b.Dy() != a.Height {
			return nil, fmt.Errorf("voc part: image %s is %d×%d but the masks of %s are %d×%d", imgPath, b.Dx(), b.Dy(), path, a.Width, a.Height)
		}
		o := &a.Objects[k]
		ann := &partset.Annotation{Image: img, Box: o.Box(a.Width)}
		if slices.Contains(Animals, o.Class) {
			if ann.Groups, ann.Landmarks, err = o.Groups(a.Width, a.Height); err != nil {
				return nil, fmt.Errorf("voc part %s: objects(%d): %w", path, k+1, err)
			}
		}
		return ann, nil
	}
}

// readList reads an image list: one id per line (VOC's Main/<split>.txt).
func readList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("voc part: %w", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0:
			continue
		case len(fields) > 1 || strings.ContainsAny(fields[0], `/\`):
			return nil, fmt.Errorf("voc part: %s:%d: %q is not one image id", path, line, sc.Text())
		}
		ids = append(ids, fields[0])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("voc part: %s: %w", path, err)
	}
	return ids, nil
}
