package fashionmnist

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/data"
	"github.com/icnnlab/icnnlab/internal/data/idx"
	"github.com/icnnlab/icnnlab/internal/data/partset"
)

// writeSplit writes a split in the distributed layout: image i is filled
// with grey level 10*i+label-ish so tests can tell images apart; label i%10.
func writeSplit(t *testing.T, dir, prefix string, n int, gz bool) {
	t.Helper()
	images := make([]byte, n*Side*Side)
	labels := make([]byte, n)
	for i := range n {
		labels[i] = byte(i % 10)
		for k := range Side * Side {
			images[i*Side*Side+k] = byte(i)
		}
	}
	write := func(name string, a *idx.Array) {
		var b bytes.Buffer
		if err := idx.Encode(&b, a); err != nil {
			t.Fatal(err)
		}
		out := b.Bytes()
		if gz {
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write(out)
			w.Close()
			out, name = z.Bytes(), name+".gz"
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix+"-images-idx3-ubyte", &idx.Array{DType: idx.Uint8, Dims: []int{n, Side, Side}, Data: images})
	write(prefix+"-labels-idx1-ubyte", &idx.Array{DType: idx.Uint8, Dims: []int{n}, Data: labels})
}

func TestLoadSplitPlainAndGzip(t *testing.T) {
	dir := t.TempDir()
	writeSplit(t, dir, "train", 40, true)
	writeSplit(t, dir, "t10k", 20, false)
	tr, err := LoadSplit(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	te, err := LoadSplit(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 40 || te.Len() != 20 || tr.Labels[13] != 3 || tr.Image(13)[5] != 13 {
		t.Fatalf("train %d test %d, label[13]=%d pixel=%d", tr.Len(), te.Len(), tr.Labels[13], tr.Image(13)[5])
	}
	if tr.Fingerprint == te.Fingerprint {
		t.Error("train and test fingerprints are equal")
	}
}

func TestLoadSplitErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadSplit(dir, "train"); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("missing files: error %v, want one naming train-images-idx3-ubyte", err)
	}
	writeSplit(t, dir, "train", 10, false)
	// A label file with one label too few.
	var b bytes.Buffer
	idx.Encode(&b, &idx.Array{DType: idx.Uint8, Dims: []int{9}, Data: make([]byte, 9)})
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), b.Bytes(), 0o644)
	if _, err := LoadSplit(dir, "train"); err == nil || !strings.Contains(err.Error(), "10 images but 9 labels") {
		t.Errorf("count mismatch: error %v", err)
	}
	// A label out of range.
	b.Reset()
	idx.Encode(&b, &idx.Array{DType: idx.Uint8, Dims: []int{10}, Data: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}})
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), b.Bytes(), 0o644)
	if _, err := LoadSplit(dir, "train"); err == nil || !strings.Contains(err.Error(), "label 10 of image 9") {
		t.Errorf("bad label: error %v", err)
	}
	// A truncated image file names the file.
	path := filepath.Join(dir, "train-images-idx3-ubyte")
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)-3], 0o644)
	if _, err := LoadSplit(dir, "train"); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: error %v", err)
	}
}

func fixture(t *testing.T, n int) *Split {
	dir := t.TempDir()
	writeSplit(t, dir, "train", n, false)
	s, err := LoadSplit(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMultiCategorySubsetIsSeededAndUsesFirstClasses(t *testing.T) {
	s := fixture(t, 100)
	a, err := MultiCategory(s, 4, 20, 7, 32)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MultiCategory(s, 4, 20, 7, 32)
	c, _ := MultiCategory(s, 4, 20, 8, 32)
	if diff := cmp.Diff(a.indices, b.indices); diff != "" {
		t.Errorf("same seed, different subsets:\n%s", diff)
	}
	if cmp.Equal(a.indices, c.indices) {
		t.Error("seeds 7 and 8 gave the same subset")
	}
	for i := range a.Len() {
		if a.Label(i) >= 4 || a.Label(i) != int(s.Labels[a.indices[i]]) {
			t.Fatalf("example %d label %d (image label %d)", i, a.Label(i), s.Labels[a.indices[i]])
		}
	}
	if a.Classes() != 4 || !cmp.Equal(a.ClassNames(), []string{"t-shirt", "trouser", "pullover", "dress"}) {
		t.Errorf("classes %d %v", a.Classes(), a.ClassNames())
	}
	if _, err := MultiCategory(s, 4, 41, 7, 32); err == nil {
		t.Error("41 images of 4 classes from 100 (40 available): no error")
	}
}

func TestSingleCategoryIsBalancedOverOtherClasses(t *testing.T) {
	s := fixture(t, 200)
	task, err := SingleCategory(s, "sneaker", 10, 36, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	perClass := map[int]int{}
	pos := 0
	for i := range task.Len() {
		l := int(s.Labels[task.indices[i]])
		if task.Label(i) == 1 {
			pos++
			if l != 7 {
				t.Fatalf("positive example %d has class %d, want 7 (sneaker)", i, l)
			}
		} else {
			perClass[l]++
		}
	}
	if pos != 18 || task.Len() != 36 || task.Classes() != 1 || task.ClassNames()[0] != "sneaker" {
		t.Fatalf("%d positives of %d, classes %d %v", pos, task.Len(), task.Classes(), task.ClassNames())
	}
	if diff := cmp.Diff(map[int]int{0: 2, 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2, 8: 2, 9: 2}, perClass); diff != "" {
		t.Errorf("negatives per class (-want +got):\n%s", diff)
	}
	if _, err := SingleCategory(s, "sneaker", 6, 10, 1, 32); err == nil {
		t.Error("target outside the first 6 classes: no error")
	}
}

func TestExampleIsResizedGreyReplicatedAndNormalised(t *testing.T) {
	s := fixture(t, 20)
	task, err := MultiCategory(s, 10, 20, 3, 40)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := task.Example(5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Image) != 3*40*40 {
		t.Fatalf("image has %d values, want %d", len(ex.Image), 3*40*40)
	}
	// The fixture images are flat, so every resized value equals the normalised grey level.
	want := (float32(task.indices[5])/255 - Mean) / Std
	for k, v := range ex.Image {
		if math.Abs(float64(v-want)) > 1e-5 {
			t.Fatalf("value %d = %v, want %v", k, v, want)
		}
	}
	images, _, labels, err := data.Batch(task, []int{0, 1, 2})
	if err != nil || images.Shape()[0] != 3 || len(labels) != 3 {
		t.Fatalf("Batch: %v", err)
	}
	if _, err := task.Annotations([]int{0}); !errors.Is(err, partset.ErrNoPartAnnotations) {
		t.Errorf("Annotations error %v, want ErrNoPartAnnotations", err)
	}
}

func TestSpecChangesWithTheData(t *testing.T) {
	s := fixture(t, 60)
	a, _ := MultiCategory(s, 10, 20, 1, 32)
	b, _ := MultiCategory(s, 10, 20, 2, 32)
	c, _ := MultiCategory(s, 10, 20, 1, 64)
	if bytes.Equal(a.Spec(), b.Spec()) || bytes.Equal(a.Spec(), c.Spec()) {
		t.Errorf("specs do not tell seeds or sizes apart: %s", a.Spec())
	}
}

// TestRealFiles checks the installed Debian dataset when it is present.
func TestRealFiles(t *testing.T) {
	if _, err := os.Stat(Dir()); err != nil {
		t.Skipf("%s not installed (apt-get install dataset-fashion-mnist)", Dir())
	}
	for split, n := range map[string]int{"train": 60000, "test": 10000} {
		s, err := LoadSplit(Dir(), split)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 10)
		for _, l := range s.Labels {
			counts[l]++
		}
		if s.Len() != n || counts[0] != n/10 || counts[9] != n/10 {
			t.Errorf("%s: %d images, class counts %v", split, s.Len(), counts)
		}
	}
}
