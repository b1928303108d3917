//go:build !race

package gorgonia

const raceEnabled = false
