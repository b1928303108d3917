package cmdutil

import (
	"errors"
	"fmt"
)

// FlagError is a usage mistake (bad flag, bad argument). The root command
// prints it with a hint on how to get help, instead of a bare error.
type FlagError struct {
	Err error
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// ErrSilent makes the command exit with status 1 without printing anything
// more (the command has already explained itself).
var ErrSilent = errors.New("silent error")
