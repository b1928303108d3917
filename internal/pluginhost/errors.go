package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	protocolv1 "github.com/icnnlab/icnnlab/sdk/plugin/protocol/v1"
)

// Causes of an *Error, for errors.Is.
var (
	// ErrStart: the plugin could not be started or did not identify itself.
	ErrStart = errors.New("plugin failed to start")
	// ErrFailed: the plugin's own code returned an error.
	ErrFailed = errors.New("plugin returned an error")
	// ErrMalformed: the plugin answered with something unusable, e.g. a
	// graph that does not decode or breaks its kind's contract.
	ErrMalformed = errors.New("plugin returned a malformed result")
	// ErrCrashed: the plugin process exited during the call.
	ErrCrashed = errors.New("plugin process exited")
	// ErrTimeout: the plugin did not answer within the call timeout.
	ErrTimeout = errors.New("plugin did not answer in time")
	// ErrConnection: the connection failed while the process still ran.
	ErrConnection = errors.New("plugin connection failed")
)

// Error is a failed plugin call. Its message names the plugin (kind/name
// and where it came from), the call, what went wrong and, for a crash, the
// last lines the plugin wrote to stderr.
type Error struct {
	Plugin string // kind/name, e.g. masks/l1
	Source string // "builtin" or the executable's path
	Method string // BuildMask, GetInfo, start, …
	Cause  error  // one of the Err… values above
	Detail string
	Stderr string // tail of the plugin's stderr (crashes)
	Err    error  // underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s (%s): %s: %s", e.Plugin, e.Source, e.Method, e.Cause)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("\nlast output of the plugin on stderr:\n" + indent(s))
	}
	return b.String()
}

func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Cause, e.Err}
	}
	return []error{e.Cause}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func (inst *instance) newError(method string, cause error, detail string, err error) *Error {
	return &Error{Plugin: inst.cand.Ref.String(), Source: inst.cand.Source(), Method: method, Cause: cause, Detail: detail, Err: err}
}

// fail reports a start-up failure, with the plugin's stderr.
func (inst *instance) fail(method, detail string, err error) error {
	e := inst.newError(method, ErrStart, detail, err)
	e.Stderr = inst.stderr.String()
	return e
}

// malformedError marks a result that arrived but cannot be used.
type malformedError struct{ err error }

func (m malformedError) Error() string { return m.err.Error() }

// classify turns the error of a call made with the context cctx (derived
// from parent with the call timeout) into an *Error saying what happened.
func (inst *instance) classify(parent, cctx context.Context, method string, err error, timeout time.Duration) error {
	var mal malformedError
	var pe *protocolv1.PluginError
	switch {
	case errors.As(err, &mal):
		return inst.newError(method, ErrMalformed, "", mal.err)
	case errors.As(err, &pe):
		return inst.newError(method, ErrFailed, pe.Message, nil)
	case status.Code(err) == codes.ResourceExhausted:
		return inst.newError(method, ErrMalformed, fmt.Sprintf("a message over the limit of %d bytes (send large tensors as a stream, not as graph constants)", inst.maxMessage), err)
	case parent.Err() != nil:
		return fmt.Errorf("plugin %s: %s: %w", inst.cand.Ref, method, parent.Err())
	case timedOut(parent, cctx, err):
		if pd, ok := parent.Deadline(); ok {
			if cd, _ := cctx.Deadline(); !pd.After(cd) {
				// The caller's deadline, not ours, ran out.
				return fmt.Errorf("plugin %s: %s: %w", inst.cand.Ref, method, context.DeadlineExceeded)
			}
		}
		// A hung plugin would also hang a graceful shutdown: kill it.
		inst.terminate()
		return inst.newError(method, ErrTimeout, fmt.Sprintf("no answer within %v, so it was stopped (hung? if it is merely slow, raise --plugin-timeout, now %v)", timeout, timeout), nil)
	case inst.waitExited(2 * time.Second):
		// Kill on an exited process only waits for go-plugin's stderr
		// reader to finish, so the tail below holds the last words.
		inst.stop()
		e := inst.newError(method, ErrCrashed, "during the call", nil)
		e.Stderr = inst.stderr.String()
		return e
	}
	return inst.newError(method, ErrConnection, "", err)
}

// timedOut reports whether the call ran out of time. The plugin's gRPC
// server sees the deadline too and may reset the stream a moment before
// the host's own context expires, hence the status code check.
func timedOut(parent, cctx context.Context, err error) bool {
	return errors.Is(cctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}

// terminate kills the process outright, then lets go-plugin clean up.
func (inst *instance) terminate() {
	inst.stopping.Store(true)
	if pid := inst.pid(); pid > 0 {
		killGroup(pid)
	}
	inst.client.Kill()
}

// waitExited reports whether the process has exited, waiting up to d: the
// broken connection is usually noticed a moment before the exit itself.
func (inst *instance) waitExited(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if inst.client.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
