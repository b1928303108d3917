// Package parts is what a plugin needs to place a filter's units on the
// image and compare them with an object's parts: the receptive-field
// Geometry that maps a unit of a feature map to image pixels, and the
// ground-truth annotations (per image, a part-group mask at the network's
// input resolution and a list of landmarks). It also defines the JSON
// annotation file that `icnnlab metrics eval --annotations` reads (see
// docs/metrics.md, "Annotation file").
//
// The host (data loaders, the synthetic world, the metric and visualizer
// runners) and the reference plugins share these types, so the two sides
// place a unit on the image the same way.
package parts

import (
	"fmt"
	"math"
)

// Set is the annotation of an evaluation set, in the order of the images in
// the activation tensor.
type Set struct {
	// Categories names the image categories by index.
	Categories []string
	// Groups names the part groups by id; id 0 is the background and never
	// counts as a part.
	Groups []string
	// Landmarks names the landmarks the images may carry.
	Landmarks []string
	Images    []Image
}

// Image is one image's ground truth.
type Image struct {
	Width, Height int
	// Category indexes Set.Categories.
	Category int
	// GroupMask is the part-group id of every pixel, row-major
	// Height×Width, 0 for background; nil when the image has landmarks
	// only (then it cannot take part in part interpretability).
	GroupMask []uint8
	// Landmarks lists the image's landmarks; a name appears at most once.
	Landmarks []Landmark
}

// Landmark is a keypoint in continuous pixel coordinates: pixel (x, y)
// covers [x, x+1) × [y, y+1), so its centre is (x+0.5, y+0.5).
type Landmark struct {
	Name    string
	X, Y    float64
	Visible bool
}

// Landmark returns the image's landmark called name if it is present and
// visible.
func (im *Image) Landmark(name string) (Landmark, bool) {
	for _, l := range im.Landmarks {
		if l.Name == name {
			return l, l.Visible
		}
	}
	return Landmark{}, false
}

// GroupAreas counts the pixels of every group id (index = id).
func (im *Image) GroupAreas() [256]int {
	var a [256]int
	for _, g := range im.GroupMask {
		a[g]++
	}
	return a
}

// GroupID is the id of the group called name, or -1.
func (s *Set) GroupID(name string) int {
	for i, g := range s.Groups {
		if g == name {
			return i
		}
	}
	return -1
}

// CategoryLabels is every image's category.
func (s *Set) CategoryLabels() []int {
	out := make([]int, len(s.Images))
	for i, im := range s.Images {
		out[i] = im.Category
	}
	return out
}

// Validate checks the internal consistency of the set; errors name the
// image index and the field.
func (s *Set) Validate() error {
	if len(s.Groups) < 2 {
		return fmt.Errorf("annotations: groups: %d names, want the background plus at least one part", len(s.Groups))
	}
	if len(s.Groups) > 256 {
		return fmt.Errorf("annotations: groups: %d names, at most 256 fit a uint8 mask", len(s.Groups))
	}
	if len(s.Categories) == 0 {
		return fmt.Errorf("annotations: categories: empty")
	}
	if err := uniqueNames("groups", s.Groups); err != nil {
		return err
	}
	if err := uniqueNames("categories", s.Categories); err != nil {
		return err
	}
	if err := uniqueNames("landmarks", s.Landmarks); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, l := range s.Landmarks {
		known[l] = true
	}
	for n := range s.Images {
		im := &s.Images[n]
		if im.Width < 1 || im.Height < 1 {
			return fmt.Errorf("annotations: image %d: size %d×%d is empty", n, im.Width, im.Height)
		}
		if im.Category < 0 || im.Category >= len(s.Categories) {
			return fmt.Errorf("annotations: image %d: category %d, want [0,%d)", n, im.Category, len(s.Categories))
		}
		if im.GroupMask != nil && len(im.GroupMask) != im.Width*im.Height {
			return fmt.Errorf("annotations: image %d: group mask has %d pixels, want %d×%d", n, len(im.GroupMask), im.Width, im.Height)
		}
		for p, g := range im.GroupMask {
			if int(g) >= len(s.Groups) {
				return fmt.Errorf("annotations: image %d: group mask pixel (%d,%d) has id %d, only %d groups", n, p%im.Width, p/im.Width, g, len(s.Groups))
			}
		}
		seen := map[string]bool{}
		for li, l := range im.Landmarks {
			switch {
			case !known[l.Name]:
				return fmt.Errorf("annotations: image %d: landmarks[%d]: unknown name %q", n, li, l.Name)
			case seen[l.Name]:
				return fmt.Errorf("annotations: image %d: landmarks[%d]: %q appears twice", n, li, l.Name)
			case math.IsNaN(l.X) || math.IsNaN(l.Y) || math.IsInf(l.X, 0) || math.IsInf(l.Y, 0):
				return fmt.Errorf("annotations: image %d: landmarks[%d] %q: position (%v, %v) is not finite", n, li, l.Name, l.X, l.Y)
			}
			seen[l.Name] = true
		}
	}
	return nil
}

func uniqueNames(field string, names []string) error {
	seen := map[string]int{}
	for i, s := range names {
		if s == "" {
			return fmt.Errorf("annotations: %s[%d]: empty name", field, i)
		}
		if j, ok := seen[s]; ok {
			return fmt.Errorf("annotations: %s[%d]: %q repeats %s[%d]", field, i, s, field, j)
		}
		seen[s] = i
	}
	return nil
}
