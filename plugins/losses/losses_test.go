package losses_test

import (
	"math"
	"strings"
	"testing"

	"github.com/icnnlab/icnnlab/plugins/losses"
	"github.com/icnnlab/icnnlab/plugins/losses/internal/graphtest"
	"github.com/icnnlab/icnnlab/plugins/losses/none"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

func TestLambdaSchedule(t *testing.T) {
	x := tensor.MustFloat32(tensor.Shape{2, 1, 1, 3}, []float32{1, 4, 2, 0, 0, 6})
	meanMax, err := losses.MeanMaxActivation(x)
	if err != nil || meanMax != 5 {
		t.Fatalf("mean max = %g, %v; want (4+6)/2 = 5", meanMax, err)
	}
	for _, tc := range []struct {
		epoch int
		want  float64
	}{{1, 0.5}, {2, 0.25}, {5, 0.1}} {
		got, err := losses.LambdaSchedule(0.1, tc.epoch, meanMax)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("epoch %d: λ = %g, %v; want %g", tc.epoch, got, err, tc.want)
		}
	}
	if _, err := losses.LambdaSchedule(1, 0, 1); err == nil {
		t.Errorf("epoch 0 accepted")
	}
	if _, err := losses.MeanMaxActivation(tensor.Zeros(tensor.Float32, 2, 3)); err == nil {
		t.Errorf("rank-2 features accepted")
	}
}

func TestNoneLossIsZeroAndConnected(t *testing.T) {
	s := losses.LossShape{Batch: 2, Channels: 3, H: 2, W: 2, Classes: 1, Task: losses.TaskSingle}
	g, err := none.Build(none.Defaults(), s)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.Zeros(tensor.Float32, 2, 3, 2, 2)
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(i)
	}
	v, err := graphtest.Scalar(g, "loss", map[string]*tensor.Tensor{"features": x, "labels": tensor.Zeros(tensor.Float32, 2, 1)}, nil, nil)
	if err != nil || v != 0 {
		t.Errorf("loss = %g, %v; want 0", v, err)
	}
	if !g.Ancestors(g.Loss())[g.Leaf(losses.InputFeatures).ID()] {
		t.Errorf("the loss does not depend on the features input")
	}
}

func TestLossShapeValidation(t *testing.T) {
	err := losses.LossShape{Batch: 0, Channels: 1, H: 1, W: 1, Classes: 1, Task: "binary"}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"batch", "task"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not name %s", err, w)
		}
	}
}
