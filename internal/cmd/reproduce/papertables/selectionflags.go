package papertables

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/icnnlab/icnnlab/internal/cmd/cmdutil"
)

// SelectionFlags are the flags that select a reproduction, bound to a
// command's options: --quick, --scale, --tables, --seeds and --data.
// reproduce paper-tables and grid submit share them (and plan.Resolve), so
// the same flags select the same runs.
type SelectionFlags struct {
	Scale  *string
	Tables *[]string
	Seeds  *int
	Data   *map[string]string
	quick  bool
}

// SelectionUsage is each command's help text for the flags whose meaning
// it words its own way.
type SelectionUsage struct{ Scale, Tables, Data string }

// Register adds the flags to fl.
func (s *SelectionFlags) Register(fl *pflag.FlagSet, usage SelectionUsage) {
	fl.BoolVar(&s.quick, "quick", false, "shorthand for --scale quick")
	fl.StringVar(s.Scale, "scale", "default", usage.Scale)
	fl.StringSliceVar(s.Tables, "tables", nil, usage.Tables)
	fl.IntVar(s.Seeds, "seeds", 0, "seeds per configuration (0: each table's own count at this scale)")
	fl.Var(DataFlag(s.Data), "data", usage.Data)
}

// Check applies --quick (refusing it beside another --scale) and checks
// --seeds.
func (s *SelectionFlags) Check(cmd *cobra.Command) error {
	if s.quick {
		if cmd.Flags().Changed("scale") && *s.Scale != "quick" {
			return cmdutil.FlagErrorf("--quick and --scale %s contradict each other", *s.Scale)
		}
		*s.Scale = "quick"
	}
	if *s.Seeds < 0 {
		return cmdutil.FlagErrorf("--seeds: %d is negative", *s.Seeds)
	}
	return nil
}
