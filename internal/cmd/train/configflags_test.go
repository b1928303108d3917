package train

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	trainpkg "github.com/icnnlab/icnnlab/internal/train"
)

// TestEachConfigFlagSetsOnlyItsField gives every config flag alone, with a
// value no default has, and checks the config differs from the defaults in
// that field and nowhere else.
func TestEachConfigFlagSetsOnlyItsField(t *testing.T) {
	for _, cf := range configFlags {
		t.Run(cf.name, func(t *testing.T) {
			want := trainpkg.Defaults()
			var value string
			switch v := cf.field(&want).(type) {
			case *string:
				*v = "x-" + cf.name
				value = *v
			case *float64:
				*v += 0.125
				value = fmt.Sprint(*v)
			case *int:
				*v += 3
				value = fmt.Sprint(*v)
			case *uint64:
				*v += 5
				value = fmt.Sprint(*v)
			case *bool:
				*v = !*v
				value = fmt.Sprint(*v)
			default:
				t.Fatalf("field of type %T", v)
			}
			args := []string{"train", "--" + cf.name + "=" + value}
			if strings.HasPrefix(cf.name, "mask") || strings.HasPrefix(cf.name, "filter-loss") || strings.HasPrefix(cf.name, "lambda") {
				// These configure the interpretable CNN and are refused without it.
				args = append(args, "--interpretable")
				want.Interpretable.Enabled = true
			}
			var got *TrainOptions
			cmd := newTestCmd(func(o *TrainOptions) error { got = o; return nil })
			cmd.SetArgs(args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.Config); diff != "" {
				t.Errorf("config after %v (-want +got):\n%s", args, diff)
			}
		})
	}
}

// TestConfigFlagDefaultsAreTheConfigDefaults checks that --help shows each
// field's default.
func TestConfigFlagDefaultsAreTheConfigDefaults(t *testing.T) {
	cmd := NewCmdTrain(&cmdutil.Factory{}, nil)
	d := trainpkg.Defaults()
	for _, cf := range configFlags {
		f := cmd.Flags().Lookup(cf.name)
		if f == nil {
			t.Errorf("--%s is not registered", cf.name)
			continue
		}
		var want string
		switch v := cf.field(&d).(type) {
		case *string:
			want = *v
		case *float64:
			want = fmt.Sprint(*v)
		case *int:
			want = fmt.Sprint(*v)
		case *uint64:
			want = fmt.Sprint(*v)
		case *bool:
			want = fmt.Sprint(*v)
		}
		if f.DefValue != want {
			t.Errorf("--%s default %q, want the config's %q", cf.name, f.DefValue, want)
		}
	}
}
