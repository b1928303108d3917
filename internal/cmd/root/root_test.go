package root

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/docs"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

var update = flag.Bool("update", false, "rewrite golden files")

// compileRefusingBackend is registered so the registry is not empty; it
// fails on Compile, so any test that reaches compilation fails loudly.
type compileRefusingBackend struct{}

const testBackendName = "root-test-backend"

func (compileRefusingBackend) Name() string        { return testBackendName }
func (compileRefusingBackend) Description() string { return "test double that refuses to compile" }
func (compileRefusingBackend) Compile(*graph.Graph, backends.CompileOptions) (backends.Executable, error) {
	return nil, errors.New("the root tests never compile")
}

func init() {
	backends.Register(testBackendName, func() (backends.Backend, error) { return compileRefusingBackend{}, nil })
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(backends.EnvVar, "")
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.New("v9.9.9-test")
	f.IOStreams = ios
	code = Run(context.Background(), f, "v9.9.9-test", args)
	return code, out.String(), errOut.String()
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{
			name: "unknown backend lists the registered ones",
			args: []string{"bench", "--backend", "nosuch", "--steps", "1"},
			wantStderr: []string{
				`error: unknown backend "nosuch"`,
				"registered: [" + strings.Join(backends.Names(), " ") + "]",
				testBackendName,
			},
		},
		{
			name:       "usage error shows the usage hint",
			args:       []string{"bench", "--steps", "0"},
			wantStderr: []string{"error: --steps: 0; at least one timed step is needed", "Run 'icnnlab bench --help' for usage."},
		},
		{
			name:       "unknown flag shows the usage hint",
			args:       []string{"bench", "--stepz", "3"},
			wantStderr: []string{"unknown flag: --stepz", "Run 'icnnlab bench --help' for usage."},
		},
		{
			name:       "unknown command shows the usage hint",
			args:       []string{"benchmark"},
			wantStderr: []string{`unknown command "benchmark"`, "Run 'icnnlab --help' for usage."},
		},
		{
			name:       "a bad --interpretable value is a usage error",
			args:       []string{"bench", "--backend", testBackendName, "--interpretable", "maybe"},
			wantStderr: []string{`--interpretable: "maybe" is not one of auto, true, false`, "Run 'icnnlab bench --help' for usage."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != ExitError {
				t.Errorf("exit code %d, want %d", code, ExitError)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing (errors go to stderr)", stdout)
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestBackendFromEnvironment(t *testing.T) {
	t.Setenv(backends.EnvVar, "from-env-nosuch")
	ios, _, _, errOut := iostreams.Test()
	f := cmdutil.New("dev")
	f.IOStreams = ios
	if code := Run(context.Background(), f, "dev", []string{"bench", "--steps", "1"}); code != ExitError {
		t.Fatalf("exit code %d, want %d", code, ExitError)
	}
	if want := `unknown backend "from-env-nosuch"`; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
	}
}

func TestVersionListsRegisteredBackends(t *testing.T) {
	code, stdout, stderr := run(t, "version")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"icnnlab v9.9.9-test\n", testBackendName + "  test double that refuses to compile"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := run(t, "--version")
	if code != ExitOK || stdout != "icnnlab v9.9.9-test\n" {
		t.Errorf("--version: code %d, stdout %q", code, stdout)
	}
}

// TestHelpGolden pins the help text of each command; run
// `go test ./internal/cmd/root -update` after changing help on purpose.
func TestHelpGolden(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"version", "--help"}, {"bench", "--help"}} {
		name := strings.Join(append([]string{"icnnlab"}, args[:len(args)-1]...), "-")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, args...)
			if code != ExitOK {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), stdout); diff != "" {
				t.Errorf("%s help (-want +got):\n%s", name, diff)
			}
		})
	}
}

func TestEveryCommandHasLongHelpAndExamples(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.New("dev")
	f.IOStreams = ios
	var check func(c *cobra.Command)
	check = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("command %q has no Long help", c.CommandPath())
		}
		// Nouns that only group verbs may leave examples to their verbs.
		if c.Runnable() && !strings.Contains(c.Example, "$ icnnlab") {
			t.Errorf("command %q has no Example with an icnnlab invocation", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			check(sub)
		}
	}
	check(NewCmdRoot(f, "dev"))
}

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the help text")

// TestCLIReferenceIsCurrent keeps docs/cli.md equal to the help text.
func TestCLIReferenceIsCurrent(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.New("dev")
	f.IOStreams = ios
	var b strings.Builder
	root := NewCmdRoot(f, "dev")
	root.InitDefaultHelpCmd()
	if err := docs.WriteMarkdown(&b, root); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "..", "docs", "cli.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run go test ./internal/cmd/root -update-docs to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("%s is stale; run go test ./internal/cmd/root -update-docs (-file +help):\n%s", path, diff)
	}
}
