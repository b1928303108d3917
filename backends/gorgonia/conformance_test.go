package gorgonia

import (
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func() (backends.Backend, error) { return backends.New(Name) })
}
