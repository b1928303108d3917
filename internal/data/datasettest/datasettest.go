// Package datasettest writes tiny, format-exact trees of the paper's part
// datasets for tests: Pascal VOC Part (MAT v5 annotation files, JPEGs,
// image lists), ILSVRC Animal-Part (PASCAL-style XML with part boxes) and
// CUB-200-2011 (the release's text tables and images), in the layouts of
// docs/datasets.md. Every object is a seeded random box painted in its
// category's colour with its parts (head, neck, torso, legs, tail) in
// shades of it, so the files are realistic in form, small and learnable.
package datasettest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/icnnlab/icnnlab/internal/data/matv5"
	"github.com/icnnlab/icnnlab/internal/data/matv5/mattest"
)

// Image size of every written photograph.
const (
	Width  = 40
	Height = 32
)

// Options say how many images each category gets per split.
type Options struct {
	// Train and Test are the images per category in the training and the
	// test split (VOC Part: train and val).
	Train, Test int
	// Seed varies the boxes.
	Seed uint64
}

// box is an object's box, [x0,x1)×[y0,y1) in pixels.
type box struct{ x0, y0, x1, y1 int }

// parts are an animal's part rectangles inside its box.
type parts struct{ head, neck, torso, leg, tail box }

func randomBox(rng *rand.Rand) box {
	w, h := 18+rng.IntN(Width-20), 16+rng.IntN(Height-18)
	x0, y0 := rng.IntN(Width-w+1), rng.IntN(Height-h+1)
	return box{x0, y0, x0 + w, y0 + h}
}

// animalParts places the parts in b: head top left, neck below it, torso
// in the middle, a front leg below the torso, tail on the right.
func animalParts(b box) parts {
	w, h := b.x1-b.x0, b.y1-b.y0
	x := func(f float64) int { return b.x0 + int(f*float64(w)) }
	y := func(f float64) int { return b.y0 + int(f*float64(h)) }
	return parts{
		head:  box{x(0), y(0), x(0.3), y(0.35)},
		neck:  box{x(0.1), y(0.35), x(0.3), y(0.45)},
		torso: box{x(0.3), y(0.3), x(0.8), y(0.7)},
		leg:   box{x(0.35), y(0.7), x(0.45), b.y1},
		tail:  box{x(0.8), y(0.3), b.x1, y(0.45)},
	}
}

func categoryColour(cat string) color.RGBA {
	h := uint32(2166136261)
	for _, c := range []byte(cat) {
		h = (h ^ uint32(c)) * 16777619
	}
	return color.RGBA{uint8(60 + h%160), uint8(60 + (h>>8)%160), uint8(60 + (h>>16)%160), 255}
}

// paint draws b and, for animals, its parts on a grey noisy background.
func paint(rng *rand.Rand, b box, cat string, p *parts) []byte {
	img := image.NewRGBA(image.Rect(0, 0, Width, Height))
	for y := range Height {
		for x := range Width {
			v := uint8(100 + rng.IntN(40))
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	fill := func(r box, c color.RGBA) {
		for y := r.y0; y < r.y1; y++ {
			for x := r.x0; x < r.x1; x++ {
				img.Set(x, y, c)
			}
		}
	}
	c := categoryColour(cat)
	fill(b, c)
	if p != nil {
		dark := color.RGBA{c.R / 2, c.G / 2, c.B / 2, 255}
		light := color.RGBA{c.R/2 + 128, c.G/2 + 128, c.B/2 + 128, 255}
		fill(p.head, dark)
		fill(p.leg, light)
		fill(p.tail, dark)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(fmt.Sprintf("datasettest: jpeg: %v", err)) // an in-memory RGBA image always encodes
	}
	return buf.Bytes()
}

func write(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// split is a split's name and its images per category.
type split struct {
	name string
	per  int
}

func splits(o Options, train, test string) []split {
	return []split{{train, o.Train}, {test, o.Test}}
}

// VOCAnimals are the categories the paper uses; VOC Part's other classes
// have no parts.
var vocAnimals = []string{"bird", "cat", "cow", "dog", "horse", "sheep"}

func rectMask(b box) []uint8 {
	m := make([]uint8, Width*Height)
	for y := b.y0; y < b.y1; y++ {
		for x := b.x0; x < b.x1; x++ {
			m[y*Width+x] = 1
		}
	}
	return m
}

// WriteVOCPart writes a VOC Part tree under root: for each split (train,
// val) and each category, images with one object of that category; the
// animals carry fine parts (head, leye, neck, torso, lfleg, tail),
// other classes none. Files: ImageSets/Main/<split>.txt,
// Annotations_Part/<id>.mat (every other one zlib-compressed) and
// JPEGImages/<id>.jpg.
func WriteVOCPart(root string, categories []string, o Options) error {
	rng := rand.New(rand.NewPCG(o.Seed, 0x70c))
	n := 0
	for _, sp := range splits(o, "train", "val") {
		var ids []string
		for _, cat := range categories {
			for range sp.per {
				n++
				id := fmt.Sprintf("2010_%06d", n)
				ids = append(ids, id)
				b := randomBox(rng)
				var p *parts
				partsArray := &matv5.Array{Class: matv5.Empty}
				if slices.Contains(vocAnimals, cat) {
					pp := animalParts(b)
					p = &pp
					eye := box{pp.head.x0, pp.head.y0, pp.head.x0 + 1, pp.head.y0 + 1}
					var elems [][]*matv5.Array
					for _, part := range []struct {
						name string
						b    box
					}{{"head", pp.head}, {"leye", eye}, {"neck", pp.neck}, {"torso", pp.torso}, {"lfleg", pp.leg}, {"tail", pp.tail}} {
						elems = append(elems, []*matv5.Array{mattest.Text(part.name), mattest.Mask(rectMask(part.b), Height, Width, true)})
					}
					partsArray = mattest.StructArray([]string{"part_name", "mask"}, elems)
				}
				objects := mattest.StructArray([]string{"class", "classIndex", "mask", "parts"},
					[][]*matv5.Array{{mattest.Text(cat), mattest.Scalar(1), mattest.Mask(rectMask(b), Height, Width, false), partsArray}})
				anno := mattest.StructArray([]string{"imname", "objects"}, [][]*matv5.Array{{mattest.Text(id), objects}})
				anno.Name = "anno"
				if err := write(filepath.Join(root, "Annotations_Part", id+".mat"), mattest.Encode([]*matv5.Array{anno}, n%2 == 0)); err != nil {
					return err
				}
				if err := write(filepath.Join(root, "JPEGImages", id+".jpg"), paint(rng, b, cat, p)); err != nil {
					return err
				}
			}
		}
		if err := write(filepath.Join(root, "ImageSets", "Main", sp.name+".txt"), []byte(strings.Join(ids, "\n")+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// WriteILSVRCPart writes an ILSVRC Animal-Part tree under root: for each
// split (train, test) and each category (its folder name), images with one
// object with head and front-leg part boxes. Files:
// ImageSets/<split>.txt, Annotations/<category>/<id>.xml and
// Images/<category>/<id>.JPEG.
func WriteILSVRCPart(root string, categories []string, o Options) error {
	rng := rand.New(rand.NewPCG(o.Seed, 0x11c))
	n := 0
	for _, sp := range splits(o, "train", "test") {
		var lines []string
		for _, cat := range categories {
			for range sp.per {
				n++
				id := fmt.Sprintf("%s_%d", cat, n)
				lines = append(lines, cat+"/"+id)
				b := randomBox(rng)
				p := animalParts(b)
				// ILSVRC boxes: 0-based pixel indices, inclusive maxima.
				bb := func(r box) string {
					return fmt.Sprintf("<bndbox><xmin>%d</xmin><ymin>%d</ymin><xmax>%d</xmax><ymax>%d</ymax></bndbox>", r.x0, r.y0, r.x1-1, r.y1-1)
				}
				xml := fmt.Sprintf(`<?xml version="1.0"?>
<annotation>
  <folder>%s</folder>
  <filename>%s</filename>
  <size><width>%d</width><height>%d</height><depth>3</depth></size>
  <object>
    <name>%s</name>
    %s
    <part><name>head</name>%s</part>
    <part><name>front leg</name>%s</part>
  </object>
</annotation>
`, cat, id, Width, Height, cat, bb(b), bb(p.head), bb(p.leg))
				if err := write(filepath.Join(root, "Annotations", cat, id+".xml"), []byte(xml)); err != nil {
					return err
				}
				if err := write(filepath.Join(root, "Images", cat, id+".JPEG"), paint(rng, b, cat, &p)); err != nil {
					return err
				}
			}
		}
		if err := write(filepath.Join(root, "ImageSets", sp.name+".txt"), []byte(strings.Join(lines, "\n")+"\n")); err != nil {
			return err
		}
	}
	return nil
}

// CUBPartNames are CUB-200-2011's 15 parts, by part id.
var CUBPartNames = []string{"back", "beak", "belly", "breast", "crown", "forehead", "left eye", "left leg", "left wing", "nape", "right eye", "right leg", "right wing", "tail", "throat"}

// WriteCUB writes a CUB-200-2011 tree under root with the given species:
// o.Train training and o.Test test images per species, each with a box and
// the 15 part locations (the head points on the head, back on the torso,
// tail on the tail; legs and wings not visible). Files: images.txt,
// image_class_labels.txt, train_test_split.txt, bounding_boxes.txt,
// classes.txt, parts/parts.txt, parts/part_locs.txt and images/<name>.
func WriteCUB(root string, species []string, o Options) error {
	rng := rand.New(rand.NewPCG(o.Seed, 0xcb))
	var images, labels, trainTest, boxes, classes, partsTxt, locs strings.Builder
	for c, sp := range species {
		fmt.Fprintf(&classes, "%d %03d.%s\n", c+1, c+1, sp)
	}
	for p, name := range CUBPartNames {
		fmt.Fprintf(&partsTxt, "%d %s\n", p+1, name)
	}
	id := 0
	for _, s := range splits(o, "train", "test") {
		isTrain := 0
		if s.name == "train" {
			isTrain = 1
		}
		for c, sp := range species {
			for range s.per {
				id++
				name := fmt.Sprintf("%03d.%s/%s_%04d.jpg", c+1, sp, sp, id)
				b := randomBox(rng)
				p := animalParts(b)
				fmt.Fprintf(&images, "%d %s\n", id, name)
				fmt.Fprintf(&labels, "%d %d\n", id, c+1)
				fmt.Fprintf(&trainTest, "%d %d\n", id, isTrain)
				fmt.Fprintf(&boxes, "%d %.1f %.1f %.1f %.1f\n", id, float64(b.x0), float64(b.y0), float64(b.x1-b.x0), float64(b.y1-b.y0))
				centre := func(r box) (float64, float64) { return float64(r.x0+r.x1) / 2, float64(r.y0+r.y1) / 2 }
				for k, pn := range CUBPartNames {
					x, y, vis := 0.0, 0.0, 0
					switch pn {
					case "crown", "forehead", "beak", "left eye", "right eye":
						x, y = centre(p.head)
						x, y, vis = x+float64(k%3)-1, y+float64(k%2), 1
					case "back":
						x, y = centre(p.torso)
						vis = 1
					case "tail":
						x, y = centre(p.tail)
						vis = 1
					}
					fmt.Fprintf(&locs, "%d %d %.1f %.1f %d\n", id, k+1, x, y, vis)
				}
				if err := write(filepath.Join(root, "images", name), paint(rng, b, sp, &p)); err != nil {
					return err
				}
			}
		}
	}
	for file, body := range map[string]string{
		"images.txt": images.String(), "image_class_labels.txt": labels.String(), "train_test_split.txt": trainTest.String(),
		"bounding_boxes.txt": boxes.String(), "classes.txt": classes.String(),
		filepath.Join("parts", "parts.txt"): partsTxt.String(), filepath.Join("parts", "part_locs.txt"): locs.String(),
	} {
		if err := write(filepath.Join(root, file), []byte(body)); err != nil {
			return err
		}
	}
	return nil
}
