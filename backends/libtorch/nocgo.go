//go:build !cgo

package libtorch

import (
	"errors"

	"github.com/icnnlab/icnnlab/backends"
)

// Name is the registry name of this backend.
const Name = "libtorch"

func init() {
	backends.Register(Name, New)
}

// New fails: loading the shim needs dlopen, which needs cgo.
func New() (backends.Backend, error) {
	return nil, errors.New("this icnnlab was built with CGO_ENABLED=0; the libtorch backend loads its shim with dlopen and needs a cgo build (go build with CGO_ENABLED=1 and a C compiler)")
}
