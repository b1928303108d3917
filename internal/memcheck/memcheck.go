// Package memcheck estimates, from a graph's shapes alone, the memory a
// training step needs, and refuses a run that cannot fit before its first
// step: a batch or network too large for the machine then fails at once
// with the estimate and what to change, instead of swapping for minutes
// and dying by the kernel's OOM killer with nothing said.
package memcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/sdk/graph"
)

// Estimate is the memory a training step of a graph holds at its peak, by
// part. It is an upper-bound model, not a measurement: every node's value
// is kept for the backward pass and gets a gradient of its size, as a
// tape-based autodiff does without in-place reuse.
type Estimate struct {
	// Params is the trainable parameters, their gradients and the
	// optimizer's slots per parameter (momentum: 1, Adam: 2).
	Params int64
	// Activations is every node's value in one step plus its gradient.
	Activations int64
	// Workspace is the im2col buffers of the convolutions: the CPU backend
	// lowers each convolution to a matrix product and keeps its column
	// matrix for the backward pass.
	Workspace int64
}

// Total is the sum of the parts.
func (e Estimate) Total() int64 { return e.Params + e.Activations + e.Workspace }

// String gives the total and its parts in MiB/GiB.
func (e Estimate) String() string {
	return fmt.Sprintf("%s (parameters with gradients and optimizer state %s, activations and their gradients %s, convolution workspace %s)",
		Bytes(e.Total()), Bytes(e.Params), Bytes(e.Activations), Bytes(e.Workspace))
}

// OfGraph estimates a training step of g. optimizerSlots is the number of
// parameter-sized buffers the optimizer keeps (SGD with momentum 1, plain
// SGD 0, Adam 2).
func OfGraph(g *graph.Graph, optimizerSlots int) Estimate {
	var e Estimate
	for _, n := range g.Nodes() {
		size := int64(n.Shape().NumElements()) * int64(n.DType().Size())
		switch n.Op() {
		case graph.OpParam:
			e.Params += size * int64(2+optimizerSlots)
		case graph.OpConst, graph.OpState:
			e.Activations += size
		default:
			e.Activations += 2 * size
		}
		if n.Op() == graph.OpConv2D {
			e.Workspace += im2col(n)
		}
	}
	return e
}

// im2col is the size of the column matrix of convolution n: for every
// output position, the input patch it reads.
func im2col(n *graph.Node) int64 {
	in := n.Inputs()
	if len(in) < 2 || in[1].Rank() != 4 || n.Rank() != 4 {
		return 0
	}
	out, w := n.Shape(), in[1].Shape() // [B, Cout, Ho, Wo], [Cout, Cin/groups, kh, kw]
	return int64(out[0]) * int64(out[2]) * int64(out[3]) * int64(w[1]) * int64(w[2]) * int64(w[3]) * int64(n.DType().Size())
}

// Available is the memory this process may still take: the kernel's
// MemAvailable, lowered to what is left under the cgroup's limit when one
// is set. ok is false where neither can be read (not Linux).
func Available() (bytes int64, ok bool) {
	avail, ok := memAvailable()
	if limit, used, lok := cgroupLimit(); lok {
		left := max(limit-used, 0)
		if !ok || left < avail {
			avail, ok = left, true
		}
	}
	return avail, ok
}

// BudgetEnv overrides Available: a size in bytes, or with a unit (KiB,
// MiB, GiB, KB, MB, GB). It lets a scheduler that knows the job's share of
// a node say so, and tests set a small budget.
const BudgetEnv = "ICNNLAB_MEMORY_BUDGET"

// Budget is the memory a run may use: $ICNNLAB_MEMORY_BUDGET when set,
// else Available. ok is false when neither is known.
func Budget() (bytes int64, source string, ok bool, err error) {
	if v := strings.TrimSpace(os.Getenv(BudgetEnv)); v != "" {
		b, err := ParseBytes(v)
		if err != nil {
			return 0, "", false, fmt.Errorf("$%s: %w", BudgetEnv, err)
		}
		return b, "$" + BudgetEnv, true, nil
	}
	b, ok := Available()
	return b, "available memory", ok, nil
}

// ErrTooLarge is wrapped by Check's refusal.
var ErrTooLarge = errors.New("does not fit in memory")

// Check refuses a training step whose estimate exceeds the budget. what
// names the run ("small64 at batch 32"); the error says how much it needs,
// how much there is and what to change.
func Check(e Estimate, what string) error {
	budget, source, ok, err := Budget()
	if err != nil {
		return err
	}
	if !ok || e.Total() <= budget {
		return nil
	}
	return fmt.Errorf("%s %w: a training step needs about %s, and %s is %s; lower the batch size or the network width, or free memory (estimated from the graph's shapes before the first step; set $%s to override)",
		what, ErrTooLarge, e, source, Bytes(budget), BudgetEnv)
}

// Bytes formats n in the largest binary unit that keeps it ≥ 1.
func Bytes(n int64) string {
	switch {
	case n >= 1<<40:
		return fmt.Sprintf("%.1f TiB", float64(n)/(1<<40))
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ParseBytes reads "123", "512MiB", "2 GiB", "1.5GB".
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRightFunc(s, func(r rune) bool { return r == ' ' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') })
	unit := strings.ToLower(strings.TrimSpace(s[len(num):]))
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || mult == 0 || v < 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with a unit (KiB, MiB, GiB, KB, MB, GB)", s)
	}
	return int64(v * mult), nil
}

func memAvailable() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// cgroupLimit reads the memory limit and usage of this process's cgroup
// (v2, then v1). ok is false without a limit.
func cgroupLimit() (limit, used int64, ok bool) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, maxFile, usageFile string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, maxFile, usageFile = "/sys/fs/cgroup"+parts[2], "memory.max", "memory.current"
		case strings.Contains(","+parts[1]+",", ",memory,"):
			dir, maxFile, usageFile = "/sys/fs/cgroup/memory"+parts[2], "memory.limit_in_bytes", "memory.usage_in_bytes"
		default:
			continue
		}
		l, lerr := readInt(dir + "/" + maxFile)
		u, uerr := readInt(dir + "/" + usageFile)
		if lerr == nil && uerr == nil && l > 0 && l < 1<<60 {
			return l, u, true
		}
	}
	return 0, 0, false
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, fs.ErrNotExist
	}
	return strconv.ParseInt(s, 10, 64)
}
