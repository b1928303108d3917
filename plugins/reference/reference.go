// Package reference registers every reference plugin (plugins/masks/*,
// plugins/losses/*, plugins/metrics/*, plugins/visualizers/*) as a built-in
// of the binary that imports it, with plugins/builtin.Register.
package reference

import (
	"github.com/icnnlab/icnnlab/plugins/builtin"
	lossauthors "github.com/icnnlab/icnnlab/plugins/losses/authorscode"
	"github.com/icnnlab/icnnlab/plugins/losses/intercategory"
	"github.com/icnnlab/icnnlab/plugins/losses/mi"
	"github.com/icnnlab/icnnlab/plugins/losses/mipapergrad"
	lossnone "github.com/icnnlab/icnnlab/plugins/losses/none"
	"github.com/icnnlab/icnnlab/plugins/losses/spatialentropy"
	maskauthors "github.com/icnnlab/icnnlab/plugins/masks/authorscode"
	"github.com/icnnlab/icnnlab/plugins/masks/euclidean"
	"github.com/icnnlab/icnnlab/plugins/masks/gaussian"
	"github.com/icnnlab/icnnlab/plugins/masks/l1"
	masknone "github.com/icnnlab/icnnlab/plugins/masks/none"
	"github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	"github.com/icnnlab/icnnlab/plugins/metrics/instability"
	"github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
	"github.com/icnnlab/icnnlab/plugins/visualizers/receptivefield"
	"github.com/icnnlab/icnnlab/plugins/visualizers/upconv"
	"github.com/icnnlab/icnnlab/sdk/plugin"
)

func init() {
	for _, p := range []plugin.Plugin{
		maskauthors.Plugin(), euclidean.Plugin(), gaussian.Plugin(), l1.Plugin(), masknone.Plugin(),
		lossauthors.Plugin(), intercategory.Plugin(), mi.Plugin(), mipapergrad.Plugin(), lossnone.Plugin(), spatialentropy.Plugin(),
		accuracy.Plugin(), instability.Plugin(), partinterp.Plugin(),
		receptivefield.Plugin(), upconv.Plugin(),
	} {
		builtin.Register(p)
	}
}
