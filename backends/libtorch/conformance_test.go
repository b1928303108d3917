//go:build cgo

package libtorch

import (
	"os"
	"testing"

	"github.com/icnnlab/icnnlab/backends"
	"github.com/icnnlab/icnnlab/backends/conformance"
	"github.com/icnnlab/icnnlab/sdk/graph"
)

// deviceEnv selects the device the conformance suite runs on (bench/gpu.sh
// sets it to cuda); the default is the CPU.
const deviceEnv = "ICNNLAB_TEST_DEVICE"

func TestConformance(t *testing.T) {
	newTestBackend(t)
	device := os.Getenv(deviceEnv)
	conformance.Run(t, func() (backends.Backend, error) {
		be, err := backends.New(Name)
		if err != nil || device == "" {
			return be, err
		}
		return onDevice{Backend: be, device: device}, nil
	})
}

// onDevice compiles every graph for one device.
type onDevice struct {
	backends.Backend
	device string
}

func (d onDevice) Compile(g *graph.Graph, opts backends.CompileOptions) (backends.Executable, error) {
	opts.Device = d.device
	return d.Backend.Compile(g, opts)
}
