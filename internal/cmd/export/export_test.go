package export

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	_ "github.com/icnnlab/icnnlab/backends/gorgonia"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	exportpkg "github.com/icnnlab/icnnlab/internal/export"
	"github.com/icnnlab/icnnlab/internal/runstore"
	"github.com/icnnlab/icnnlab/internal/train"
	"github.com/icnnlab/icnnlab/internal/weights"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		want    ExportOptions
		wantErr string
	}{
		{args: []string{"runs/a"}, want: ExportOptions{RunDir: "runs/a", Format: "safetensors"}},
		{args: []string{"runs/a", "--format", "torch", "-o", "a.pt"}, want: ExportOptions{RunDir: "runs/a", Format: "torch", Output: "a.pt"}},
		{args: []string{"runs/a", "--format", "onnx"}, wantErr: `--format: "onnx" is not one of safetensors, torch`},
		{args: []string{}, wantErr: "export takes one run directory, got 0 arguments"},
	}
	for _, tc := range cases {
		ios, _, _, _ := iostreams.Test()
		var got *ExportOptions
		cmd := NewCmdExport(&cmdutil.Factory{IOStreams: ios}, func(o *ExportOptions) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got.RunDir != tc.want.RunDir || got.Format != tc.want.Format || got.Output != tc.want.Output {
			t.Errorf("%v: got %+v, want %+v", tc.args, *got, tc.want)
		}
	}
}

// TestExportRun exports a finished run in both formats and reads each
// file back: the checkpoint's values under torchvision names, metadata set.
func TestExportRun(t *testing.T) {
	cfg := train.Defaults()
	cfg.Model = train.ModelConfig{Arch: "small64", Width: 0.25, Dropout: 0.5, Loss: "softmax"}
	cfg.Data.Task, cfg.Data.Target, cfg.Data.Categories = "multi", "", 3
	cfg.Data.Train, cfg.Data.Test = 64, 16
	cfg.Batch, cfg.Epochs = 32, 1
	store, err := runstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := backends.New("gorgonia")
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.Run(context.Background(), cfg, train.Options{Backend: b, Store: store, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	ckpt, err := res.Run.LoadCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range weights.Formats {
		ios, _, stdout, _ := iostreams.Test()
		out := filepath.Join(t.TempDir(), "net")
		if err := exportRun(&ExportOptions{IO: ios, RunDir: res.Run.Dir, Format: format, Output: out}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), "wrote "+out) {
			t.Errorf("stdout %q", stdout.String())
		}
		f, err := weights.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != format || f.Metadata[exportpkg.KeyArch] != "small64" || f.Metadata[exportpkg.KeyClasses] != "3" || f.Metadata[exportpkg.KeyInterp] != "false" {
			t.Errorf("%s: format %s metadata %v", format, f.Format, f.Metadata)
		}
		if !f.Tensors["features.0.weight"].Equal(ckpt["conv1/w"]) || !f.Tensors["classifier.3.bias"].Equal(ckpt["fc2/b"]) {
			t.Errorf("%s: exported tensors differ from the checkpoint", format)
		}
	}
}
