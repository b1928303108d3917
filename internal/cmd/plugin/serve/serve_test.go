package serve

import (
	"errors"
	"testing"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
	"github.com/icnnlab/icnnlab/internal/cmd/iostreams"
)

func TestNewCmdServeArgs(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *ServeOptions
	cmd := NewCmdServe(f, func(o *ServeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"masks/l1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Ref != "masks/l1" || got.Serve == nil {
		t.Errorf("options = %+v", got)
	}
	for _, args := range [][]string{{}, {"masks"}, {"a/b", "c/d"}} {
		cmd := NewCmdServe(f, func(*ServeOptions) error { return nil })
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		var fe *cmdutil.FlagError
		if err := cmd.Execute(); !errors.As(err, &fe) {
			t.Errorf("%q: error %v, want a FlagError", args, err)
		}
	}
}
