// Package reproductions embeds the specs of the reproduced tables
// (*.yaml) and the scale presets (scales.yaml), so `icnnlab reproduce`
// works from any directory. The recorded results live in results/.
package reproductions

import "embed"

// Specs holds every spec and scales.yaml.
//
//go:embed *.yaml
var Specs embed.FS
