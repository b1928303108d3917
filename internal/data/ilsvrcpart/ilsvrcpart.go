// Package ilsvrcpart loads the ILSVRC 2013 DET Animal-Part annotations
// (Zhang et al. 2016): head and front-leg boxes on the objects of 30
// animal categories of the ILSVRC 2013 detection set.
//
// The release's own file format could not be checked from here, so this
// package reads an assumed PASCAL-style XML file per image (documented in
// docs/datasets.md): <annotation> with <size> and <object>s, each with
// <name>, <bndbox> and <part> elements holding <name> (head or front leg)
// and <bndbox>. Box coordinates are 0-based pixel indices with inclusive
// maxima, the ILSVRC convention. Landmarks are box centres: "head" and
// "frontleg" (the mean centre of the front-leg boxes). There are no part
// masks: examples carry landmarks only.
package ilsvrcpart

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// Landmarks are the landmarks of the location-instability metric.
var Landmarks = []string{"head", "frontleg"}

// Groups only satisfies the annotation schema: there are no part masks.
var Groups = []string{"background", "animal"}

// partNames maps the accepted part names to a landmark.
var partNames = map[string]string{"head": "head", "frontleg": "frontleg", "front_leg": "frontleg", "front leg": "frontleg", "front-leg": "frontleg", "frontlegs": "frontleg", "front legs": "frontleg"}

// Box is an inclusive pixel box.
type Box struct{ XMin, YMin, XMax, YMax int }

// Rect is the half-open rectangle of the box's pixels.
func (b Box) Rect() image.Rectangle { return image.Rect(b.XMin, b.YMin, b.XMax+1, b.YMax+1) }

// Centre is the box centre in continuous pixel coordinates.
func (b Box) Centre() (x, y float64) {
	return (float64(b.XMin) + float64(b.XMax) + 1) / 2, (float64(b.YMin) + float64(b.YMax) + 1) / 2
}

// Part is a part box; Name is the landmark it belongs to.
type Part struct {
	Name string
	Box  Box
}

// Object is one annotated animal.
type Object struct {
	Name  string
	Box   Box
	Parts []Part
}

// Annotation is one image's file.
type Annotation struct {
	Filename      string
	Width, Height int
	Objects       []Object
}

type xmlBox struct {
	XMin, YMin, XMax, YMax string
}

func (x *xmlBox) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		XMin string `xml:"xmin"`
		YMin string `xml:"ymin"`
		XMax string `xml:"xmax"`
		YMax string `xml:"ymax"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*x = xmlBox{raw.XMin, raw.YMin, raw.XMax, raw.YMax}
	return nil
}

type xmlAnnotation struct {
	XMLName  xml.Name `xml:"annotation"`
	Filename string   `xml:"filename"`
	Size     struct {
		Width  string `xml:"width"`
		Height string `xml:"height"`
	} `xml:"size"`
	Objects []struct {
		Name   string  `xml:"name"`
		BndBox *xmlBox `xml:"bndbox"`
		Parts  []struct {
			Name   string  `xml:"name"`
			BndBox *xmlBox `xml:"bndbox"`
		} `xml:"part"`
	} `xml:"object"`
}

// ParseAnnotation decodes one XML annotation; name labels errors.
func ParseAnnotation(b []byte, name string) (*Annotation, error) {
	var x xmlAnnotation
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&x); err != nil {
		line, _ := dec.InputPos()
		return nil, fmt.Errorf("ilsvrc part %s:%d: %w", name, line, err)
	}
	a := &Annotation{Filename: strings.TrimSpace(x.Filename)}
	var err error
	if a.Width, err = dimension(x.Size.Width); err != nil {
		return nil, fmt.Errorf("ilsvrc part %s: size/width: %w", name, err)
	}
	if a.Height, err = dimension(x.Size.Height); err != nil {
		return nil, fmt.Errorf("ilsvrc part %s: size/height: %w", name, err)
	}
	box := func(bb *xmlBox, what string) (Box, error) {
		if bb == nil {
			return Box{}, fmt.Errorf("ilsvrc part %s: %s has no bndbox", name, what)
		}
		var v [4]int
		for k, s := range [4]string{bb.XMin, bb.YMin, bb.XMax, bb.YMax} {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return Box{}, fmt.Errorf("ilsvrc part %s: %s/bndbox/%s %q is not an integer", name, what, [4]string{"xmin", "ymin", "xmax", "ymax"}[k], s)
			}
			v[k] = n
		}
		r := Box{v[0], v[1], v[2], v[3]}
		if r.XMin < 0 || r.YMin < 0 || r.XMax < r.XMin || r.YMax < r.YMin || r.XMax >= a.Width || r.YMax >= a.Height {
			return Box{}, fmt.Errorf("ilsvrc part %s: %s/bndbox %v is empty or outside the %d×%d image", name, what, v, a.Width, a.Height)
		}
		return r, nil
	}
	for k, o := range x.Objects {
		what := fmt.Sprintf("object %d", k+1)
		obj := Object{Name: strings.TrimSpace(o.Name)}
		if obj.Name == "" {
			return nil, fmt.Errorf("ilsvrc part %s: %s has no name", name, what)
		}
		if obj.Box, err = box(o.BndBox, what); err != nil {
			return nil, err
		}
		for p, part := range o.Parts {
			pw := fmt.Sprintf("%s part %d", what, p+1)
			lm, ok := partNames[strings.ToLower(strings.TrimSpace(part.Name))]
			if !ok {
				return nil, fmt.Errorf("ilsvrc part %s: %s: name %q is neither head nor front leg", name, pw, part.Name)
			}
			pb, err := box(part.BndBox, pw)
			if err != nil {
				return nil, err
			}
			obj.Parts = append(obj.Parts, Part{Name: lm, Box: pb})
		}
		a.Objects = append(a.Objects, obj)
	}
	return a, nil
}

func dimension(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 1<<16 {
		return 0, fmt.Errorf("%q is not an image dimension", s)
	}
	return n, nil
}

// Landmarks are the object's head and front-leg landmarks in image coordinates.
func (o *Object) Landmarks() []parts.Landmark {
	var out []parts.Landmark
	for _, name := range Landmarks {
		var sx, sy, n float64
		for _, p := range o.Parts {
			if p.Name == name {
				x, y := p.Box.Centre()
				sx, sy, n = sx+x, sy+y, n+1
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

// Load reads split of the layout under root: the list
// ImageSets/<split>.txt of "<category>/<image id>" lines, annotations
// Annotations/<category>/<id>.xml and images Images/<category>/<id>.JPEG.
// Categories are the category folders named in the list, sorted; each
// object is an object of its image's category folder.
func Load(root, split string) (*partset.Collection, error) {
	list := filepath.Join(root, "ImageSets", split+".txt")
	f, err := os.Open(list)
	if err != nil {
		return nil, fmt.Errorf("ilsvrc part: %w", err)
	}
	defer f.Close()
	type item struct{ cat, id string }
	var items []item
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		cat, id, ok := strings.Cut(text, "/")
		if !ok || cat == "" || id == "" || strings.ContainsAny(id, `/\ `) || strings.ContainsAny(cat, `\ `) || cat == ".." || id == ".." {
			return nil, fmt.Errorf("ilsvrc part: %s:%d: %q is not <category>/<image id>", list, line, text)
		}
		items = append(items, item{cat, id})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ilsvrc part: %s: %w", list, err)
	}
	c := &partset.Collection{Source: "ilsvrc-part", Split: split, Groups: Groups, Landmarks: Landmarks}
	for _, it := range items {
		if !slices.Contains(c.Categories, it.cat) {
			c.Categories = append(c.Categories, it.cat)
		}
	}
	slices.Sort(c.Categories)
	h := sha256.New()
	for _, it := range items {
		path := filepath.Join(root, "Annotations", it.cat, it.id+".xml")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ilsvrc part: %w", err)
		}
		h.Write(b)
		a, err := ParseAnnotation(b, path)
		if err != nil {
			return nil, err
		}
		cat := slices.Index(c.Categories, it.cat)
		img := filepath.Join(root, "Images", it.cat, it.id+".JPEG")
		for k := range a.Objects {
			o := a.Objects[k]
			c.Objects = append(c.Objects, partset.Object{Key: fmt.Sprintf("%s/%s#%d", it.cat, it.id, k), Category: cat, Open: func() (*partset.Annotation, error) {
				im, err := partset.DecodeImageFile(img)
				if err != nil {
					return nil, err
				}
				if b := im.Bounds(); b.Dx() != a.Width || b.Dy() != a.Height {
					return nil, fmt.Errorf("ilsvrc part: image %s is %d×%d, %s says %d×%d", img, b.Dx(), b.Dy(), path, a.Width, a.Height)
				}
				return &partset.Annotation{Image: im, Box: o.Box.Rect(), Landmarks: o.Landmarks()}, nil
			}})
		}
	}
	c.Fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	return c, nil
}
