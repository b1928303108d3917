//go:build openblas

package sgemm

import "github.com/icnnlab/icnnlab/backends/gorgonia/internal/sgemm/internal/cblas"

func init() {
	cblas.SetThreads(1) // compare single-threaded products
	implementations = append(implementations, struct {
		name string
		f    sgemmFunc
	}{"openblas", cblas.Sgemm})
}
