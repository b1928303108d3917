package pluginhost

import (
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// go-plugin logs a plugin process's exit at ERROR level whenever its exit
// status is not zero, and warns when a plugin did not exit within two
// seconds of being asked to. When the host itself stops a plugin (Close,
// or killing one that overran its call timeout), the process dies by
// SIGKILL on purpose and those lines ("[ERROR] plugin process exited:
// signal: killed") would only alarm the user: the host already reports a
// timeout as the call's error. stopLogger demotes exactly those two
// messages to DEBUG while the instance is being stopped; an exit the host
// did not ask for (a crash) still logs at ERROR.

// Messages go-plugin v1.8 logs about a plugin's end.
const (
	msgProcessExited  = "plugin process exited"
	msgNotGracefulEnd = "plugin failed to exit gracefully"
)

// stopLogger is the logger handed to one plugin's go-plugin client.
type stopLogger struct {
	hclog.Logger
	stopping *atomic.Bool
}

func newStopLogger(l hclog.Logger) stopLogger {
	return stopLogger{Logger: l, stopping: new(atomic.Bool)}
}

func (l stopLogger) expected(msg string) bool {
	return l.stopping.Load() && (msg == msgProcessExited || msg == msgNotGracefulEnd)
}

func (l stopLogger) Log(level hclog.Level, msg string, args ...any) {
	if level >= hclog.Warn && l.expected(msg) {
		level = hclog.Debug
	}
	l.Logger.Log(level, msg, args...)
}

func (l stopLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }
func (l stopLogger) Warn(msg string, args ...any)  { l.Log(hclog.Warn, msg, args...) }

// The derived loggers keep the filter (go-plugin names one per plugin).
func (l stopLogger) With(args ...any) hclog.Logger {
	return stopLogger{Logger: l.Logger.With(args...), stopping: l.stopping}
}

func (l stopLogger) Named(name string) hclog.Logger {
	return stopLogger{Logger: l.Logger.Named(name), stopping: l.stopping}
}

func (l stopLogger) ResetNamed(name string) hclog.Logger {
	return stopLogger{Logger: l.Logger.ResetNamed(name), stopping: l.stopping}
}
