package runstore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestKeyIgnoresJSONKeyOrderAndSpacing(t *testing.T) {
	a := Identity{Kind: "train", Config: json.RawMessage(`{"a":1,"b":[1,2]}`), Dataset: json.RawMessage(`{"seed":3}`), Backend: "gorgonia", Device: "cpu"}
	b := a
	b.Config = json.RawMessage("{ \"b\": [1, 2],\n \"a\": 1 }")
	ka, err := a.Key()
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := b.Key()
	if ka != kb {
		t.Errorf("equal configs hash differently: %s vs %s", ka, kb)
	}
	c := a
	c.Device = "cuda"
	kc, _ := c.Key()
	if kc == ka {
		t.Errorf("different devices hash the same: %s", ka)
	}
	if len(ka) != 12 {
		t.Errorf("key %q: want 12 hex digits", ka)
	}
}

func TestCreateFindsTheSameRunAgain(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Kind: "train", Config: json.RawMessage(`{"x":1}`), Dataset: json.RawMessage(`{}`), Backend: "gorgonia", Device: "cpu"}
	r1, existed, err := s.Create("my run/1", id, 7, nil)
	if err != nil || existed {
		t.Fatalf("first create: existed=%v err=%v", existed, err)
	}
	if strings.ContainsAny(filepath.Base(r1.Dir), "/ ") {
		t.Errorf("run dir %q keeps unsafe characters", r1.Dir)
	}
	st, err := r1.Status()
	if err != nil || st.State != Running {
		t.Fatalf("status after create = %+v, %v", st, err)
	}
	if err := r1.WriteMetrics(map[string]float64{"acc": 0.75}); err != nil {
		t.Fatal(err)
	}
	r2, existed, err := s.Create("my run/1", id, 7, nil)
	if err != nil || !existed {
		t.Fatalf("second create: existed=%v err=%v", existed, err)
	}
	if r2.Dir != r1.Dir || r2.Manifest.Key != r1.Manifest.Key || r2.Manifest.Seed != 7 {
		t.Errorf("second create found %+v, want the first run %+v", r2.Manifest, r1.Manifest)
	}
	var m map[string]float64
	if err := r2.ReadMetrics(&m); err != nil || m["acc"] != 0.75 {
		t.Errorf("metrics = %v, %v", m, err)
	}
	runs, err := s.List()
	if err != nil || len(runs) != 1 {
		t.Errorf("List = %d runs, %v; want 1", len(runs), err)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := &Run{Dir: dir}
	if _, err := r.LoadCheckpoint(); err != ErrNoCheckpoint {
		t.Fatalf("empty run: err = %v, want ErrNoCheckpoint", err)
	}
	want := map[string]*tensor.Tensor{
		"conv1/w": tensor.MustFloat32(tensor.Shape{2, 2}, []float32{1, -2, 3.5, 4}),
		"step":    mustInt64(t, tensor.Shape{}, []int64{42}),
	}
	if err := r.SaveCheckpoint(want); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		if g := got[name]; g == nil || !g.Equal(w) {
			t.Errorf("%s: got %v, want %v", name, g, w)
		}
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("leftover temporary file %s", e.Name())
		}
	}
}

func mustInt64(t *testing.T, s tensor.Shape, v []int64) *tensor.Tensor {
	t.Helper()
	x, err := tensor.FromInt64(s, v)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestHistoryAppendAndTruncate(t *testing.T) {
	r := &Run{Dir: t.TempDir()}
	h := r.History("step", "loss")
	for i, loss := range []float64{0.9, 0.5, 0.25} {
		if err := h.Append((i+1)*10, loss); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Append(1); err == nil {
		t.Error("a short row was accepted")
	}
	if err := h.Truncate(20); err != nil {
		t.Fatal(err)
	}
	rows, err := h.Read()
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{{"step": "10", "loss": "0.9"}, {"step": "20", "loss": "0.5"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows after truncate (-want +got):\n%s", diff)
	}
	// A row torn by a kill mid-append is not a row, and truncation drops it.
	f, _ := os.OpenFile(r.Path("history.csv"), os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString("30,0.1")
	f.Close()
	if rows, err := h.Read(); err != nil || len(rows) != 2 {
		t.Errorf("with a torn last row: %v, %v; want the 2 whole rows", rows, err)
	}
	if err := h.Truncate(20); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(30, 0.125); err != nil {
		t.Fatal(err)
	}
	if rows, err := h.Read(); err != nil || len(rows) != 3 || rows[2]["loss"] != "0.125" {
		t.Errorf("after truncating the torn row and appending: %v, %v", rows, err)
	}
}

func TestKeyFollowsPluginOutputNotBinary(t *testing.T) {
	base := Identity{Kind: "train", Config: json.RawMessage(`{}`), Dataset: json.RawMessage(`{}`), Backend: "gorgonia", Device: "cpu",
		Plugins: []PluginRef{{Kind: "mask", Name: "l1", Version: "1.0.0", Protocol: 1, SHA256: "aa", Source: "builtin", OutputSHA256: "11"}}}
	key := func(id Identity) string {
		t.Helper()
		k, err := id.Key()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	with := func(edit func(*PluginRef)) Identity {
		id := base
		id.Plugins = append([]PluginRef(nil), base.Plugins...)
		edit(&id.Plugins[0])
		return id
	}
	tests := []struct {
		name string
		id   Identity
		same bool
	}{
		{"rebuilt binary, same graphs", with(func(p *PluginRef) { p.SHA256 = "bb" }), true},
		{"moved binary, same graphs", with(func(p *PluginRef) { p.Source = "/opt/plugins" }), true},
		{"different graphs", with(func(p *PluginRef) { p.OutputSHA256 = "22" }), false},
		{"different version", with(func(p *PluginRef) { p.Version = "1.1.0" }), false},
		{"no output hash: binary decides", with(func(p *PluginRef) { p.OutputSHA256 = "" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := key(tt.id) == key(base); got != tt.same {
				t.Errorf("same key = %v, want %v", got, tt.same)
			}
		})
	}
	// Binary checksum without an output hash still separates runs.
	a, b := with(func(p *PluginRef) { p.OutputSHA256 = "" }), with(func(p *PluginRef) { p.OutputSHA256 = ""; p.SHA256 = "bb" })
	if key(a) == key(b) {
		t.Error("without output hashes, different binaries share a key")
	}
	if base.Plugins[0].SHA256 != "aa" {
		t.Error("Key modified the identity's plugin list")
	}
}

func TestOpenWithoutARootOpensTheDefault(t *testing.T) {
	want := filepath.Join(t.TempDir(), "store")
	t.Setenv(EnvVar, want)
	s, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(want); s.Root != want || err != nil || !st.IsDir() {
		t.Errorf("Open(\"\") = store at %q (%v); want the directory %s from $%s", s.Root, err, want, EnvVar)
	}
}
