// Package fashionmnist loads Fashion-MNIST (Xiao, Rasul, Vollgraf 2017;
// Debian package dataset-fashion-mnist): 70,000 28×28 grey images of ten
// clothing categories in IDX files, split 60,000 train / 10,000 test. It
// has no part labels, so the part metrics do not apply to it; Task's
// Annotations says so with partset.ErrNoPartAnnotations.
package fashionmnist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/idx"
	"github.com/icnnlab/icnnlab/internal/data/partset"
	"github.com/icnnlab/icnnlab/sdk/parts"
)

// DefaultDir is where Debian's dataset-fashion-mnist installs the files.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// EnvDir overrides DefaultDir.
const EnvDir = "ICNNLAB_FASHION_MNIST"

// Dir is $ICNNLAB_FASHION_MNIST, or DefaultDir.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// ClassNames are the ten categories by label (spelled for command lines:
// "t-shirt" is the dataset's "T-shirt/top", "ankle-boot" its "Ankle boot").
var ClassNames = []string{"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"}

// Side is the side of the original images.
const Side = 28

// Grey-level statistics of the training images (mean 72.94/255, standard
// deviation 90.02/255), used to normalise.
const (
	Mean = 0.2860
	Std  = 0.3530
)

// Split is one split's images and labels.
type Split struct {
	Name   string // "train" or "test"
	Images []uint8
	Labels []uint8
	// Fingerprint is a hash of the split's raw image and label bytes.
	Fingerprint string
}

// Len is the number of images.
func (s *Split) Len() int { return len(s.Labels) }

// Image returns image i (28×28, row-major).
func (s *Split) Image(i int) []uint8 { return s.Images[i*Side*Side : (i+1)*Side*Side] }

var filePrefix = map[string]string{"train": "train", "test": "t10k"}

// LoadSplit reads split ("train" or "test") from dir: the files
// <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte, each plain or
// with .gz, with prefix train or t10k.
func LoadSplit(dir, split string) (*Split, error) {
	prefix, ok := filePrefix[split]
	if !ok {
		return nil, fmt.Errorf("fashion-mnist: split %q (want train or test)", split)
	}
	images, err := readArray(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labels, err := readArray(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 || images.Dims[1] != Side || images.Dims[2] != Side || images.DType != idx.Uint8 {
		return nil, fmt.Errorf("fashion-mnist %s images: %s dims %v, want uint8 [N %d %d]", split, images.DType, images.Dims, Side, Side)
	}
	if len(labels.Dims) != 1 || labels.DType != idx.Uint8 {
		return nil, fmt.Errorf("fashion-mnist %s labels: %s dims %v, want uint8 [N]", split, labels.DType, labels.Dims)
	}
	if images.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("fashion-mnist %s: %d images but %d labels", split, images.Dims[0], labels.Dims[0])
	}
	for i, l := range labels.Data {
		if int(l) >= len(ClassNames) {
			return nil, fmt.Errorf("fashion-mnist %s labels: label %d of image %d is not in [0,%d)", split, l, i, len(ClassNames))
		}
	}
	h := sha256.New()
	h.Write(images.Data)
	h.Write(labels.Data)
	return &Split{Name: split, Images: images.Data, Labels: labels.Data, Fingerprint: hex.EncodeToString(h.Sum(nil))[:16]}, nil
}

func readArray(dir, base string) (*idx.Array, error) {
	for _, name := range []string{base, base + ".gz"} {
		path := filepath.Join(dir, name)
		a, err := idx.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return a, err
	}
	return nil, fmt.Errorf("fashion-mnist: neither %s nor %s.gz exists in %s (install with: apt-get install dataset-fashion-mnist, or set $%s)", base, base, dir, EnvDir)
}

var cache struct {
	sync.Mutex
	splits map[string]*Split
}

// LoadSplitCached is LoadSplit, remembered per (dir, split) for the process.
func LoadSplitCached(dir, split string) (*Split, error) {
	cache.Lock()
	defer cache.Unlock()
	key := dir + "\x00" + split
	if s, ok := cache.splits[key]; ok {
		return s, nil
	}
	s, err := LoadSplit(dir, split)
	if err != nil {
		return nil, err
	}
	if cache.splits == nil {
		cache.splits = map[string]*Split{}
	}
	cache.splits[key] = s
	return s, nil
}

// Task is a classification task over a subset of a split; it implements
// data.Dataset.
type Task struct {
	split   *Split
	kind    string
	target  int
	classes int
	size    int
	seed    uint64
	indices []int
	labels  []int
}

var _ partset.Annotated = (*Task)(nil)

// MultiCategory uses n images of the first `classes` categories, drawn in
// an order shuffled by seed; labels are the class indices.
func MultiCategory(s *Split, classes, n int, seed uint64, size int) (*Task, error) {
	if classes < 2 || classes > len(ClassNames) {
		return nil, fmt.Errorf("fashion-mnist: %d categories, want 2..%d", classes, len(ClassNames))
	}
	t := &Task{split: s, kind: "multi", target: -1, classes: classes, size: size, seed: seed}
	for _, i := range shuffled(s, seed) {
		if int(s.Labels[i]) < classes && len(t.indices) < n {
			t.indices, t.labels = append(t.indices, i), append(t.labels, int(s.Labels[i]))
		}
	}
	if len(t.indices) < n {
		return nil, fmt.Errorf("fashion-mnist %s: %d images requested, the split has %d of the first %d categories", s.Name, n, len(t.indices), classes)
	}
	return t, nil
}

// SingleCategory is the one-vs-rest task: n images, half of category
// target (label 1) and half drawn round-robin from the other categories
// among the first `classes` (label 0), in an order shuffled by seed.
func SingleCategory(s *Split, target string, classes, n int, seed uint64, size int) (*Task, error) {
	ti := slices.Index(ClassNames[:min(classes, len(ClassNames))], target)
	if ti < 0 {
		return nil, fmt.Errorf("fashion-mnist: target %q is not one of %v", target, ClassNames[:min(classes, len(ClassNames))])
	}
	t := &Task{split: s, kind: "single", target: ti, classes: classes, size: size, seed: seed}
	var pos []int
	neg := make([][]int, classes)
	for _, i := range shuffled(s, seed) {
		switch l := int(s.Labels[i]); {
		case l == ti:
			pos = append(pos, i)
		case l < classes:
			neg[l] = append(neg[l], i)
		}
	}
	npos := n - n/2
	if len(pos) < npos {
		return nil, fmt.Errorf("fashion-mnist %s: %d positives needed for %d images, the split has %d of %q", s.Name, npos, n, len(pos), target)
	}
	var others []int
	for c := range classes {
		if c != ti {
			others = append(others, c)
		}
	}
	for k := 0; len(t.indices) < n; k++ {
		if k < npos {
			t.indices, t.labels = append(t.indices, pos[k]), append(t.labels, 1)
		}
		// One negative per positive, cycling over the other categories.
		c := others[k%len(others)]
		if r := k / len(others); len(t.indices) < n {
			if r >= len(neg[c]) {
				return nil, fmt.Errorf("fashion-mnist %s: not enough negatives of %q for %d images", s.Name, ClassNames[c], n)
			}
			t.indices, t.labels = append(t.indices, neg[c][r]), append(t.labels, 0)
		}
	}
	return t, nil
}

func shuffled(s *Split, seed uint64) []int {
	return rand.New(rand.NewPCG(seed, 0xfa5410)).Perm(s.Len())
}

// Len is the number of examples.
func (t *Task) Len() int { return len(t.indices) }

// ImageSize is the side of the example images.
func (t *Task) ImageSize() int { return t.size }

// Classes is 1 for the single-category task, else the number of categories.
func (t *Task) Classes() int {
	if t.kind == "single" {
		return 1
	}
	return t.classes
}

// ClassNames names the target (single) or the categories (multi).
func (t *Task) ClassNames() []string {
	if t.kind == "single" {
		return []string{ClassNames[t.target]}
	}
	return slices.Clone(ClassNames[:t.classes])
}

// Label is example i's label.
func (t *Task) Label(i int) int { return t.labels[i] }

// Example is image i resized bilinearly to the task's size, replicated to
// three channels and normalised with Mean and Std.
func (t *Task) Example(i int) (data.Example, error) {
	if i < 0 || i >= len(t.indices) {
		return data.Example{}, fmt.Errorf("fashion-mnist: example %d out of range [0,%d)", i, len(t.indices))
	}
	src := t.split.Image(t.indices[i])
	plane := make([]float32, len(src))
	for k, v := range src {
		plane[k] = (float32(v)/255 - Mean) / Std
	}
	grey := partset.ResampleBilinear(plane, Side, Side, partset.Region{X0: 0, Y0: 0, X1: Side, Y1: Side}, t.size)
	img := make([]float32, 0, 3*len(grey))
	for range 3 {
		img = append(img, grey...)
	}
	return data.Example{Image: img, Label: t.labels[i]}, nil
}

// Annotations always fails with partset.ErrNoPartAnnotations: Fashion-MNIST
// has no part labels, so the part metrics are "not applicable".
func (t *Task) Annotations([]int) (*parts.Set, error) {
	return nil, partset.ErrNoPartAnnotations
}

// Spec identifies the data: split fingerprint, task, subset and size.
func (t *Task) Spec() json.RawMessage {
	spec := map[string]any{
		"source": "fashion-mnist", "split": t.split.Name, "fingerprint": t.split.Fingerprint,
		"task": t.kind, "categories": t.classes, "len": len(t.indices), "seed": t.seed,
		"image_size": t.size, "resize": "bilinear", "normalise": []float64{Mean, Std},
	}
	if t.kind == "single" {
		spec["target"] = ClassNames[t.target]
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic(fmt.Sprintf("fashion-mnist spec: %v", err)) // strings and numbers: cannot fail
	}
	return b
}
