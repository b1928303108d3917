// Package partset is what the real part datasets (CUB-200-2011, Pascal VOC
// Part, ILSVRC Animal-Part) share: a collection of annotated objects, the
// paper's single- and multi-category tasks over it (objects cropped by
// their box and warped to the input size), and the part ground truth of
// every example at the network's input resolution, in the form the
// metrics take (sdk/parts).
package partset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the datasets' photographs
	_ "image/png"
	"math/rand/v2"
	"os"
	"slices"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// ErrNoPartAnnotations is returned by Annotations of datasets that have no
// part labels (Fashion-MNIST): callers report the part metrics as "not
// applicable" instead of a number.
var ErrNoPartAnnotations = errors.New("dataset has no part annotations: part metrics are not applicable")

// Annotated is a dataset whose examples carry part ground truth.
type Annotated interface {
	data.Dataset
	// Annotations is the ground truth of examples idx, in that order, at
	// the input resolution; ErrNoPartAnnotations if the dataset has none.
	Annotations(idx []int) (*parts.Set, error)
}

// Object is one annotated object of a collection; Open loads it lazily.
type Object struct {
	// Key identifies the object within its collection, stably across runs
	// (e.g. the image path and object index); specs hash the keys.
	Key      string
	Category int
	Open     func() (*Annotation, error)
}

// Annotation is an object in its full image.
type Annotation struct {
	Image image.Image
	// Box is the object's box in image pixel coordinates: the crop.
	Box image.Rectangle
	// Groups is the part-group id of every image pixel (row-major over
	// Image.Bounds(), 0 background), nil when the dataset has landmarks only.
	Groups []uint8
	// Landmarks are in continuous image coordinates relative to Bounds().Min.
	Landmarks []parts.Landmark
}

// Collection is the objects of one split of a dataset.
type Collection struct {
	Source string // e.g. "cub200"
	Split  string // e.g. "train"
	// Fingerprint identifies the annotation files read (a hash of their
	// bytes), so specs differ when the data do.
	Fingerprint string
	Categories  []string
	Groups      []string // by id; id 0 is the background
	Landmarks   []string
	Objects     []Object
}

// CategoryIndex is the index of the category called name.
func (c *Collection) CategoryIndex(name string) (int, error) {
	if i := slices.Index(c.Categories, name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%s: no category %q", c.Source, name)
}

// Fingerprint hashes files' contents (in order), for Collection.Fingerprint.
func Fingerprint(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

type entry struct {
	coll   *Collection
	object int
	label  int
}

// Task is a classification dataset over objects of one or more collections.
// It implements data.Dataset and Annotated.
type Task struct {
	kind       string
	size       int
	classNames []string
	entries    []entry
	spec       json.RawMessage
	// categories is the union of the category names of the examples' collections (annotation categories).
	categories []string
}

var _ Annotated = (*Task)(nil)

// SingleCategory is the paper's single-category task: n examples (or as
// many as there are), half the objects of category target in pos (label 1),
// half negatives (label 0) taken round-robin over the categories of the
// collections neg whose name is not target. Objects are drawn in an order
// shuffled by seed.
func SingleCategory(pos *Collection, target string, neg []*Collection, n int, seed uint64, size int) (*Task, error) {
	t, err := pos.CategoryIndex(target)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x51))
	var positives []entry
	for _, k := range rng.Perm(len(pos.Objects)) {
		if pos.Objects[k].Category == t && len(positives) < n-n/2 {
			positives = append(positives, entry{pos, k, 1})
		}
	}
	if len(positives) == 0 {
		return nil, fmt.Errorf("%s %s: no objects of category %q", pos.Source, pos.Split, target)
	}
	// Negatives by category, each category's list shuffled.
	type bucket struct{ items []entry }
	var buckets []bucket
	for _, c := range neg {
		byCat := make([][]entry, len(c.Categories))
		for _, k := range rng.Perm(len(c.Objects)) {
			o := c.Objects[k]
			if c.Categories[o.Category] != target {
				byCat[o.Category] = append(byCat[o.Category], entry{c, k, 0})
			}
		}
		for _, items := range byCat {
			if len(items) > 0 {
				buckets = append(buckets, bucket{items})
			}
		}
	}
	var negatives []entry
	for round := 0; len(negatives) < len(positives); round++ {
		took := false
		for _, b := range buckets {
			if round < len(b.items) && len(negatives) < len(positives) {
				negatives, took = append(negatives, b.items[round]), true
			}
		}
		if !took {
			break
		}
	}
	if len(negatives) == 0 {
		return nil, fmt.Errorf("%s %s: no negative objects (categories other than %q) for the single-category task", pos.Source, pos.Split, target)
	}
	task := &Task{kind: "single", size: size, classNames: []string{target}}
	for k := range max(len(positives), len(negatives)) {
		if k < len(positives) {
			task.entries = append(task.entries, positives[k])
		}
		if k < len(negatives) {
			task.entries = append(task.entries, negatives[k])
		}
	}
	task.finish(target, n, seed)
	return task, nil
}

// MultiCategory uses up to n objects of the named categories of c, in an
// order shuffled by seed; the label is the index in categories.
func MultiCategory(c *Collection, categories []string, n int, seed uint64, size int) (*Task, error) {
	label := make(map[int]int)
	for l, name := range categories {
		i, err := c.CategoryIndex(name)
		if err != nil {
			return nil, err
		}
		label[i] = l
	}
	task := &Task{kind: "multi", size: size, classNames: slices.Clone(categories)}
	rng := rand.New(rand.NewPCG(seed, 0x3a))
	for _, k := range rng.Perm(len(c.Objects)) {
		if l, ok := label[c.Objects[k].Category]; ok && len(task.entries) < n {
			task.entries = append(task.entries, entry{c, k, l})
		}
	}
	if len(task.entries) == 0 {
		return nil, fmt.Errorf("%s %s: no objects of categories %v", c.Source, c.Split, categories)
	}
	task.finish("", n, seed)
	return task, nil
}

func (t *Task) finish(target string, n int, seed uint64) {
	h := sha256.New()
	var sources []map[string]string
	for _, e := range t.entries {
		fmt.Fprintf(h, "%s/%s/%s=%d\n", e.coll.Source, e.coll.Split, e.coll.Objects[e.object].Key, e.label)
		found := false
		for _, s := range sources {
			found = found || s["source"] == e.coll.Source && s["split"] == e.coll.Split
		}
		if !found {
			sources = append(sources, map[string]string{"source": e.coll.Source, "split": e.coll.Split, "fingerprint": e.coll.Fingerprint})
		}
		for _, name := range e.coll.Categories {
			if !slices.Contains(t.categories, name) {
				t.categories = append(t.categories, name)
			}
		}
	}
	spec := map[string]any{
		"sources": sources, "task": t.kind, "classes": t.classNames, "requested": n, "len": len(t.entries),
		"seed": seed, "image_size": t.size, "crop": "box", "examples_sha256": hex.EncodeToString(h.Sum(nil)),
	}
	if target != "" {
		spec["target"] = target
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("partset spec: %v", err)) // maps of strings and numbers: cannot fail
	}
	t.spec = b
}

// Len is the number of examples.
func (t *Task) Len() int { return len(t.entries) }

// ImageSize is the side of the example images.
func (t *Task) ImageSize() int { return t.size }

// Classes is 1 for the single-category task, else the number of categories.
func (t *Task) Classes() int {
	if t.kind == "single" {
		return 1
	}
	return len(t.classNames)
}

// ClassNames names the target (single) or the categories (multi).
func (t *Task) ClassNames() []string { return slices.Clone(t.classNames) }

// Spec identifies the task: sources with fingerprints, task, and a hash of the examples.
func (t *Task) Spec() json.RawMessage { return t.spec }

// Label is example i's label without loading it.
func (t *Task) Label(i int) int { return t.entries[i].label }

// Object is the collection and object of example i.
func (t *Task) Object(i int) (*Collection, Object) {
	e := t.entries[i]
	return e.coll, e.coll.Objects[e.object]
}

func (t *Task) open(i int) (*Annotation, *Collection, Object, error) {
	if i < 0 || i >= len(t.entries) {
		return nil, nil, Object{}, fmt.Errorf("example %d out of range [0,%d)", i, len(t.entries))
	}
	c, o := t.Object(i)
	a, err := o.Open()
	if err != nil {
		return nil, nil, Object{}, fmt.Errorf("%s %s object %s: %w", c.Source, c.Split, o.Key, err)
	}
	return a, c, o, nil
}

// CropRegion is the region an annotation's object is cropped by: its box,
// clipped to the image (the whole image if the box is empty).
func CropRegion(a *Annotation) Region {
	b := a.Image.Bounds()
	box := a.Box.Add(b.Min).Intersect(b).Sub(b.Min)
	if box.Empty() {
		return Region{0, 0, float64(b.Dx()), float64(b.Dy())}
	}
	return RegionOf(box)
}

// Example is the object of example i cropped by its box, normalised.
func (t *Task) Example(i int) (data.Example, error) {
	a, _, _, err := t.open(i)
	if err != nil {
		return data.Example{}, err
	}
	return data.Example{Image: CropCHW(a.Image, CropRegion(a), t.size), Label: t.entries[i].label}, nil
}

// Annotations is the part ground truth of examples idx at the input
// resolution: the group mask cropped and resampled by nearest neighbour,
// landmarks mapped into the crop (those that fall outside it are marked
// not visible). Categories are the union of the collections' categories;
// groups and landmarks are those of the first example's collection;
// examples from a collection with other groups or landmarks (negatives
// taken from another dataset) carry neither a mask nor landmarks.
func (t *Task) Annotations(idx []int) (*parts.Set, error) {
	set := &parts.Set{Categories: slices.Clone(t.categories)}
	for n, i := range idx {
		a, c, o, err := t.open(i)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			set.Groups, set.Landmarks = slices.Clone(c.Groups), slices.Clone(c.Landmarks)
		}
		im, err := CropAnnotation(a, t.size)
		if err != nil {
			return nil, fmt.Errorf("%s %s object %s: %w", c.Source, c.Split, o.Key, err)
		}
		if !slices.Equal(set.Groups, c.Groups) || !slices.Equal(set.Landmarks, c.Landmarks) {
			// A negative from another dataset (CUB's task takes its
			// negatives from VOC): its parts mean nothing here.
			im.GroupMask, im.Landmarks = nil, nil
		}
		im.Category = slices.Index(set.Categories, c.Categories[o.Category])
		set.Images = append(set.Images, *im)
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return set, nil
}

// CropAnnotation maps an object's ground truth into its size×size crop.
func CropAnnotation(a *Annotation, size int) (*parts.Image, error) {
	b := a.Image.Bounds()
	r := CropRegion(a)
	im := &parts.Image{Width: size, Height: size}
	if a.Groups != nil {
		if len(a.Groups) != b.Dx()*b.Dy() {
			return nil, fmt.Errorf("group mask has %d pixels, image is %d×%d", len(a.Groups), b.Dx(), b.Dy())
		}
		im.GroupMask = ResampleNearest(a.Groups, b.Dx(), b.Dy(), r, size)
	}
	sx, sy := float64(size)/(r.X1-r.X0), float64(size)/(r.Y1-r.Y0)
	for _, l := range a.Landmarks {
		m := parts.Landmark{Name: l.Name, X: (l.X - r.X0) * sx, Y: (l.Y - r.Y0) * sy, Visible: l.Visible}
		if m.X < 0 || m.Y < 0 || m.X >= float64(size) || m.Y >= float64(size) {
			m.Visible = false
			m.X, m.Y = min(max(m.X, 0), float64(size)), min(max(m.Y, 0), float64(size))
		}
		im.Landmarks = append(im.Landmarks, m)
	}
	return im, nil
}

// MaxImagePixels bounds the images a loader decodes. A PNG or JPEG header
// may claim any size, and the decoder allocates what it claims before
// reading a pixel: a 100-byte file can ask for gigabytes. The paper's
// datasets stay far below this (ILSVRC's largest images are ~10 Mpx).
const MaxImagePixels = 64 << 20

// DecodeImageFile decodes a JPEG or PNG file; errors name the file.
func DecodeImageFile(path string) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := DecodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w", path, err)
	}
	return img, nil
}

// DecodeImage decodes a JPEG or PNG image of at most MaxImagePixels.
func DecodeImage(data []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s of %d×%d pixels: empty", format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%s of %d×%d pixels: more than the %d a loader accepts", format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	return img, err
}
