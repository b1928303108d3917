package papertables

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/internal/reproduce/plan"
	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
	"github.com/icnnlab/icnnlab/internal/train"
)

func parseArgs(t *testing.T, args ...string) (*PaperTablesOptions, error) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	var got *PaperTablesOptions
	cmd := NewCmdPaperTables(&cmdutil.Factory{IOStreams: ios}, func(o *PaperTablesOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	return got, cmd.Execute()
}

func TestInitWeightsFlag(t *testing.T) {
	o, err := parseArgs(t, "--init-weights", "vgg-16=/w/vgg16.pt,vgg-m=/w/m.safetensors", "--init-weights", "alexnet-torchvision=/w/a.pt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"vgg-16": "/w/vgg16.pt", "vgg-m": "/w/m.safetensors", "alexnet-torchvision": "/w/a.pt"}
	if diff := cmp.Diff(want, o.InitWeights); diff != "" {
		t.Errorf("--init-weights (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ arg, want string }{
		{"vgg16.pt", "want ARCH=FILE"},
		{"alexnet=/w/a.pt", "the tables' AlexNet is the 2012 paper's network"},
		{"resnet=/w/r.pt", `"resnet" is not an architecture`},
	} {
		if _, err := parseArgs(t, "--init-weights", tc.arg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--init-weights %s: error %v, want %q", tc.arg, err, tc.want)
		}
	}
}

func TestApplyInitWeights(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vgg16.safetensors")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(arch string) *plan.PlannedRun {
		c := train.Defaults()
		c.Model.Arch = arch
		return &plan.PlannedRun{Arch: arch, Config: c}
	}
	pl := &plan.Plan{Scale: spec.Scale{Name: "full", Width: 1}, Runs: []*plan.PlannedRun{run("vgg-16"), run("vgg-m"), run("vgg-16")}}
	var log bytes.Buffer
	if err := applyInitWeights(pl, map[string]string{"vgg-16": file, "vgg-s": file}, &log); err != nil {
		t.Fatal(err)
	}
	got := []string{pl.Runs[0].Config.InitWeights, pl.Runs[1].Config.InitWeights, pl.Runs[2].Config.InitWeights}
	if diff := cmp.Diff([]string{file, "", file}, got); diff != "" {
		t.Errorf("init_weights per run (-want +got):\n%s", diff)
	}
	for _, w := range []string{"2 vgg-16 runs start from " + file, "no selected run uses vgg-s"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log %q does not say %q", log.String(), w)
		}
	}

	narrow := &plan.Plan{Scale: spec.Scale{Name: "default", Width: 0.25}, Runs: []*plan.PlannedRun{run("vgg-16")}}
	if err := applyInitWeights(narrow, map[string]string{"vgg-16": file}, &log); err == nil || !strings.Contains(err.Error(), "use --scale full") {
		t.Errorf("narrow scale: %v", err)
	}
	if err := applyInitWeights(pl, map[string]string{"vgg-16": file + ".missing"}, &log); err == nil || !strings.Contains(err.Error(), ".missing") {
		t.Errorf("missing file: %v", err)
	}
}
