// Package builtin compiles every reference mask, loss and metric plugin into the
// binary that imports it: a blank import registers them all as built-ins
// of pluginhost, which serves each out of process by re-executing the
// binary (`icnnlab plugin serve KIND/NAME`).
package builtin

import (
	// Masks.
	_ "github.com/icnnlab/icnnlab/plugins/masks/authorscode"
	_ "github.com/icnnlab/icnnlab/plugins/masks/euclidean"
	_ "github.com/icnnlab/icnnlab/plugins/masks/gaussian"
	_ "github.com/icnnlab/icnnlab/plugins/masks/l1"
	_ "github.com/icnnlab/icnnlab/plugins/masks/none"

	// Filter losses.
	_ "github.com/icnnlab/icnnlab/plugins/losses/authorscode"
	_ "github.com/icnnlab/icnnlab/plugins/losses/intercategory"
	_ "github.com/icnnlab/icnnlab/plugins/losses/mi"
	_ "github.com/icnnlab/icnnlab/plugins/losses/mipapergrad"
	_ "github.com/icnnlab/icnnlab/plugins/losses/none"
	_ "github.com/icnnlab/icnnlab/plugins/losses/spatialentropy"

	// Visualizers.
	_ "github.com/icnnlab/icnnlab/plugins/visualizers/receptivefield"
	_ "github.com/icnnlab/icnnlab/plugins/visualizers/upconv"

	// Metrics (part-interpretability, location-instability, accuracy).
	_ "github.com/icnnlab/icnnlab/plugins/metrics/accuracy"
	_ "github.com/icnnlab/icnnlab/plugins/metrics/instability"
	_ "github.com/icnnlab/icnnlab/plugins/metrics/partinterp"
)
