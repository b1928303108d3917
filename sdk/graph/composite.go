package graph

import (
	"fmt"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// Composite ops are built from primitives, so backends need not implement
// them (a backend may still recognise and fuse the pattern).

// Square is x·x.
func (g *Graph) Square(x *Node) *Node { return g.Mul(x, x) }

// AddScalar, MulScalar are x+c and x·c.
func (g *Graph) AddScalar(x *Node, c float64) *Node { return g.Add(x, g.Scalar(c)) }
func (g *Graph) MulScalar(x *Node, c float64) *Node { return g.Mul(x, g.Scalar(c)) }

// LogSoftmax is x - logsumexp(x) along axis.
func (g *Graph) LogSoftmax(x *Node, axis int) *Node {
	return g.Sub(x, g.LogSumExpKeep(x, axis))
}

// Softmax is exp(LogSoftmax(x)).
func (g *Graph) Softmax(x *Node, axis int) *Node { return g.Exp(g.LogSoftmax(x, axis)) }

// Softplus is log(1+exp(x)), computed stably as relu(x) + log(1+exp(-|x|)).
func (g *Graph) Softplus(x *Node) *Node {
	return g.Add(g.Relu(x), g.Log(g.AddScalar(g.Exp(g.Neg(g.Abs(x))), 1)))
}

// SigmoidCrossEntropy is the mean logistic loss of logits against targets
// in {0,1} (same shape), computed stably: softplus(z) - z·y.
func (g *Graph) SigmoidCrossEntropy(logits, targets *Node) *Node {
	return g.Mean(g.Sub(g.Softplus(logits), g.Mul(logits, targets)))
}

// SoftmaxCrossEntropy is the mean over rows of -Σ y·log softmax(z), for
// logits [N,K] and one-hot (or soft) targets [N,K].
func (g *Graph) SoftmaxCrossEntropy(logits, targets *Node) *Node {
	perRow := g.Neg(g.Sum(g.Mul(targets, g.LogSoftmax(logits, 1)), 1))
	return g.Mean(perRow)
}

// Linear is x·W + b with W [in,out] (He-normal) and b [out] (zeros, no weight decay),
// named prefix+"/w" and prefix+"/b".
func (g *Graph) Linear(prefix string, x *Node, out int) *Node {
	if !g.usable(OpMatMul, x) {
		return g.poison()
	}
	if x.Rank() != 2 {
		return g.failShape(OpMatMul, []*Node{x}, "linear %q wants x [N,in]", prefix)
	}
	w := g.Param(prefix+"/w", HeNormal(), []int{x.shape[1], out})
	b := g.Param(prefix+"/b", Zeros(), []int{out}, DecayMult(0))
	return g.Add(g.MatMul(x, w), b)
}

// Conv2DLayer is a convolution with a learned bias: weights prefix+"/w"
// [out, in/groups, k, k] (He-normal) and bias prefix+"/b" [out].
func (g *Graph) Conv2DLayer(prefix string, x *Node, out, kernel int, o ConvOptions) *Node {
	if !g.usable(OpConv2D, x) {
		return g.poison()
	}
	if x.Rank() != 4 {
		return g.failShape(OpConv2D, []*Node{x}, "conv layer %q wants x [N,C,H,W]", prefix)
	}
	groups := max(o.Groups, 1)
	w := g.Param(prefix+"/w", HeNormal(), []int{out, x.shape[1] / groups, kernel, kernel})
	b := g.Param(prefix+"/b", Zeros(), []int{out}, DecayMult(0))
	return g.Add(g.Conv2D(x, w, o), g.Reshape(b, 1, out, 1, 1))
}

// BatchNorm2D normalises x [N,C,H,W] per channel with batch statistics in
// training and running statistics (state, updated with the given momentum)
// in evaluation. Parameters prefix+"/gamma", prefix+"/beta"; states
// prefix+"/running_mean", prefix+"/running_var".
func (g *Graph) BatchNorm2D(prefix string, x *Node, momentum, eps float64) *Node {
	if !g.usable(OpMean, x) {
		return g.poison()
	}
	if x.Rank() != 4 {
		return g.failShape(OpMean, []*Node{x}, "batch-norm %q wants x [N,C,H,W]", prefix)
	}
	c := x.shape[1]
	ones := tensor.Zeros(tensor.Float32, c)
	for i := range ones.Float32s() {
		ones.Float32s()[i] = 1
	}
	gamma := g.Param(prefix+"/gamma", Constant(1), []int{c}, DecayMult(0))
	beta := g.Param(prefix+"/beta", Zeros(), []int{c}, DecayMult(0))
	runMean := g.State(prefix+"/running_mean", tensor.Zeros(tensor.Float32, c))
	runVar := g.State(prefix+"/running_var", ones)

	mean := g.MeanKeep(x, 0, 2, 3) // [1,C,1,1]
	centred := g.Sub(x, mean)
	variance := g.MeanKeep(g.Square(centred), 0, 2, 3)
	trainOut := g.Div(centred, g.Sqrt(g.AddScalar(variance, eps)))

	rm4 := g.Reshape(runMean, 1, c, 1, 1)
	rv4 := g.Reshape(runVar, 1, c, 1, 1)
	evalOut := g.Div(g.Sub(x, rm4), g.Sqrt(g.AddScalar(rv4, eps)))

	normed := g.ModeSwitch(trainOut, evalOut)
	out := g.Add(g.Mul(normed, g.Reshape(gamma, 1, c, 1, 1)), g.Reshape(beta, 1, c, 1, 1))

	// Running statistics use the unbiased variance, as PyTorch does.
	n := float64(x.shape[0] * x.shape[2] * x.shape[3])
	unbiased := 1.0
	if n > 1 {
		unbiased = n / (n - 1)
	}
	bm := g.StopGradient(g.Reshape(mean, c))
	bv := g.StopGradient(g.MulScalar(g.Reshape(variance, c), unbiased))
	g.SetStateUpdate(runMean, g.Add(g.MulScalar(runMean, 1-momentum), g.MulScalar(bm, momentum)))
	g.SetStateUpdate(runVar, g.Add(g.MulScalar(runVar, 1-momentum), g.MulScalar(bv, momentum)))
	return out
}

// GradientSurrogate returns Σ stopgrad(grad) ⊙ x: its gradient with respect
// to x is exactly grad, so a hand-written gradient rule (the authors' code
// injects gradients rather than minimising a loss) can be added to any loss.
func (g *Graph) GradientSurrogate(x, grad *Node) *Node {
	if !g.usable(OpMul, x, grad) {
		return g.poison()
	}
	if !x.shape.Equal(grad.shape) {
		return g.failShape(OpMul, []*Node{x, grad}, "gradient surrogate needs the gradient in x's shape")
	}
	return g.Sum(g.Mul(g.StopGradient(grad), x))
}

// MustOK panics with the graph's error; for examples and tests only.
func (g *Graph) MustOK() *Graph {
	if g.err != nil {
		panic(fmt.Sprintf("graph build failed: %v", g.err))
	}
	return g
}
