package wire

import (
	"fmt"
	"slices"

	"github.com/icnnlab/icnnlab/sdk/plugin"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// ReadTensors drains s and returns exactly the tensors called names: a
// missing, repeated or unexpected tensor is an error naming it.
func ReadTensors(s plugin.TensorStream, names ...string) (map[string]*tensor.Tensor, error) {
	all, err := plugin.ReadAll(s)
	if err != nil {
		return nil, fmt.Errorf("read tensors: %w", err)
	}
	got := map[string]*tensor.Tensor{}
	for _, nt := range all {
		if !slices.Contains(names, nt.Name) {
			return nil, fmt.Errorf("unexpected tensor %q (want %q)", nt.Name, names)
		}
		if _, dup := got[nt.Name]; dup {
			return nil, fmt.Errorf("tensor %q sent twice", nt.Name)
		}
		got[nt.Name] = nt.Tensor
	}
	for _, n := range names {
		if got[n] == nil {
			return nil, fmt.Errorf("tensor %q is missing", n)
		}
	}
	return got, nil
}
