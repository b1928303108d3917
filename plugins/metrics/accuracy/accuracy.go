// Package accuracy scores classifier outputs: binary (single-category,
// logistic: a positive logit means "target category") and multi-class
// (argmax over the classes, for softmax or independent logistic outputs),
// each with its confusion matrix.
package accuracy

import (
	"fmt"
	"math"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Result is the accuracy of N predictions.
type Result struct {
	Correct  int     `json:"correct"`
	Total    int     `json:"total"`
	Accuracy float64 `json:"accuracy"` // Correct / Total, in [0, 1]
	// Confusion[t][p] counts images of true class t predicted as p; for
	// binary results class 0 is "negative" and 1 "positive".
	Confusion [][]int `json:"confusion"`
}

// Score scores logits against labels the way the metric plugin does:
// [N] or [N,1] logits as binary (Binary), [N,K] as multi-class
// (MultiClass). It is the one definition of accuracy in the project: the
// training loop's running and test accuracy use it too.
func Score(logits *tensor.Tensor, labels []int) (*Result, error) {
	if logits == nil {
		return nil, fmt.Errorf("accuracy: nil logits")
	}
	if s := logits.Shape(); len(s) == 1 || (len(s) == 2 && s[1] == 1) {
		return Binary(logits, labels)
	}
	return MultiClass(logits, labels)
}

// Binary scores single-category logits ([N] or [N,1], any float dtype)
// against labels in {0, 1}: the prediction is positive iff logit > 0
// (sigmoid > 0.5), so a logit of exactly 0 is negative.
func Binary(logits *tensor.Tensor, labels []int) (*Result, error) {
	if logits == nil {
		return nil, fmt.Errorf("binary accuracy: nil logits")
	}
	s := logits.Shape()
	if !(len(s) == 1 || (len(s) == 2 && s[1] == 1)) {
		return nil, fmt.Errorf("binary accuracy: logits shape %v, want [N] or [N 1]", s)
	}
	if err := checkLogits(logits, labels, s[0]); err != nil {
		return nil, fmt.Errorf("binary accuracy: %w", err)
	}
	res := newResult(2)
	for n, y := range labels {
		if y != 0 && y != 1 {
			return nil, fmt.Errorf("binary accuracy: label %d is %d, want 0 or 1", n, y)
		}
		pred := 0
		if logits.Float64At(n) > 0 {
			pred = 1
		}
		res.add(y, pred)
	}
	return res.finish(), nil
}

// MultiClass scores [N,C] logits (or probabilities) against labels in
// [0, C): the prediction is the argmax, the lowest class on ties.
func MultiClass(logits *tensor.Tensor, labels []int) (*Result, error) {
	if logits == nil {
		return nil, fmt.Errorf("multi-class accuracy: nil logits")
	}
	s := logits.Shape()
	if len(s) != 2 || s[1] < 2 {
		return nil, fmt.Errorf("multi-class accuracy: logits shape %v, want [N C] with C ≥ 2", s)
	}
	if err := checkLogits(logits, labels, s[0]); err != nil {
		return nil, fmt.Errorf("multi-class accuracy: %w", err)
	}
	c := s[1]
	res := newResult(c)
	for n, y := range labels {
		if y < 0 || y >= c {
			return nil, fmt.Errorf("multi-class accuracy: label %d is %d, want [0,%d)", n, y, c)
		}
		pred := 0
		for k := 1; k < c; k++ {
			if logits.Float64At(n*c+k) > logits.Float64At(n*c+pred) {
				pred = k
			}
		}
		res.add(y, pred)
	}
	return res.finish(), nil
}

func checkLogits(logits *tensor.Tensor, labels []int, n int) error {
	if !logits.DType().IsFloat() {
		return fmt.Errorf("logits dtype %v, want float32 or float64", logits.DType())
	}
	if n == 0 {
		return fmt.Errorf("no predictions")
	}
	if len(labels) != n {
		return fmt.Errorf("%d labels for %d predictions", len(labels), n)
	}
	for i := range logits.Len() {
		if v := logits.Float64At(i); math.IsNaN(v) {
			return fmt.Errorf("logit %d is NaN", i)
		}
	}
	return nil
}

func newResult(classes int) *Result {
	r := &Result{Confusion: make([][]int, classes)}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, classes)
	}
	return r
}

func (r *Result) add(truth, pred int) {
	r.Total++
	if truth == pred {
		r.Correct++
	}
	r.Confusion[truth][pred]++
}

func (r *Result) finish() *Result {
	r.Accuracy = float64(r.Correct) / float64(r.Total)
	return r
}
