//go:build race

package gorgonia

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops pooled items at random under it), so allocation tests skip.
const raceEnabled = true
