//go:build cgo

package libtorch

import "github.com/icnnlab/icnnlab/sdk/graph"

// columnMajorWeights enables the layout choice below; tests switch it off
// to compare against the plain row-major layout.
var columnMajorWeights = true

// columnMajorParams names the parameters kept column-major on the device:
// float matrices used only as the right operand of matmul, such as the
// weights of graph.Linear ([in,out]). torch.nn.Linear holds the same values
// as a weight [out,in] that it multiplies transposed, which is this layout.
// libtorch's matmul backward then calls GEMMs of the shapes OpenBLAS runs
// fastest (small64's fc1, 8192×256 at batch 32, one thread: the weight's
// gradient 14 ms row-major, 5 ms column-major; the input's 7.5 ms and 4 ms)
// and returns the weight's gradient in the weight's layout, so the
// optimizer updates run over matching memory. Values, reads, writes and
// snapshots do not change: only strides on the device do.
func columnMajorParams(g *graph.Graph) map[string]bool {
	if !columnMajorWeights {
		return nil
	}
	ok := map[*graph.Node]bool{}
	for _, p := range g.Params() {
		ok[p] = p.Rank() == 2 && p.DType().IsFloat()
	}
	used := map[*graph.Node]bool{}
	for _, n := range g.Nodes() {
		for i, in := range n.Inputs() {
			if in.Op() != graph.OpParam {
				continue
			}
			used[in] = true
			if n.Op() != graph.OpMatMul || i != 1 {
				ok[in] = false
			}
		}
	}
	names := map[string]bool{}
	for p, good := range ok {
		if good && used[p] {
			names[p.Attrs().Name] = true
		}
	}
	return names
}
