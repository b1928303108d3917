package memcheck

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// A hand-counted graph: x [2,3,8,8] → conv 3×3 (4 filters, no padding) →
// [2,4,6,6] → relu → mean → loss, all float32.
func TestOfGraphCountsByHand(t *testing.T) {
	g := graph.New("tiny")
	x := g.Input("images", tensor.Float32, 2, 3, 8, 8)
	w := g.Param("w", graph.Zeros(), []int{4, 3, 3, 3})
	y := g.Relu(g.Conv2D(x, w, graph.ConvOptions{}))
	g.SetLoss(g.Mean(y))
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	const f = 4
	params := 4 * 3 * 3 * 3 * f
	acts := 2 * f * (2*3*8*8 /* input */ + 2*4*6*6 /* conv */ + 2*4*6*6 /* relu */ + 1 /* mean */)
	workspace := 2 * 6 * 6 * (3 * 3 * 3) * f
	for _, tc := range []struct {
		slots int
		want  Estimate
	}{
		{0, Estimate{Params: int64(2 * params), Activations: int64(acts), Workspace: int64(workspace)}},
		{1, Estimate{Params: int64(3 * params), Activations: int64(acts), Workspace: int64(workspace)}},
		{2, Estimate{Params: int64(4 * params), Activations: int64(acts), Workspace: int64(workspace)}},
	} {
		if diff := cmp.Diff(tc.want, OfGraph(g, tc.slots)); diff != "" {
			t.Errorf("optimizer slots %d (-want +got):\n%s", tc.slots, diff)
		}
	}
}

func TestCheckRefusesWithTheEstimate(t *testing.T) {
	e := Estimate{Params: 1 << 30, Activations: 3 << 30, Workspace: 1 << 29}
	t.Setenv(BudgetEnv, "2GiB")
	err := Check(e, "vgg-16 at batch 256")
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	for _, want := range []string{"vgg-16 at batch 256", "4.5 GiB", "$ICNNLAB_MEMORY_BUDGET is 2.0 GiB", "lower the batch size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	t.Setenv(BudgetEnv, "5GiB")
	if err := Check(e, "x"); err != nil {
		t.Errorf("4.5 GiB within 5 GiB: %v", err)
	}
	t.Setenv(BudgetEnv, "lots")
	if err := Check(e, "x"); err == nil || !strings.Contains(err.Error(), BudgetEnv) {
		t.Errorf("bad budget: err = %v, want one naming $%s", err, BudgetEnv)
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "123", want: 123}, {in: "512MiB", want: 512 << 20}, {in: "2 GiB", want: 2 << 30}, {in: "1.5GB", want: 1500000000},
		{in: "4g", want: 4 << 30}, {in: "", bad: true}, {in: "-1", bad: true}, {in: "3 parsecs", bad: true}, {in: "1e30TB", bad: true},
	} {
		got, err := ParseBytes(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestAvailableOnLinux(t *testing.T) {
	b, ok := Available()
	if !ok {
		t.Skip("no /proc/meminfo: not Linux")
	}
	if b <= 0 {
		t.Errorf("Available = %d, want > 0 on a running machine", b)
	}
}
