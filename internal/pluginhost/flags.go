package pluginhost

import (
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"
)

// Flags are the command-line settings of a Host: --plugin-dir and
// --plugin-timeout. Commands that run plugins register them.
type Flags struct {
	Dir         string
	CallTimeout time.Duration
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Dir, "plugin-dir", "",
		"directory of external plugins (default $"+EnvPluginDir+", else the per-user icnnlab/plugins config directory)")
	fs.DurationVar(&f.CallTimeout, "plugin-timeout", DefaultCallTimeout,
		"stop a plugin that does not answer a call within this time")
}

// NewHost resolves the plugin directory and returns a Host whose go-plugin
// log (warnings and errors) goes to logOut.
func (f *Flags) NewHost(logOut io.Writer) (*Host, error) {
	dir, err := ResolveDir(f.Dir)
	if err != nil {
		return nil, err
	}
	return New(Options{
		Dir:         dir,
		CallTimeout: f.CallTimeout,
		Logger:      hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Warn, Output: logOut}),
	}), nil
}
