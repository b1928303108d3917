package synth

import (
	"math"
	"math/rand/v2"
)

// rgb is a colour with channels in [0,1].
type rgb struct{ r, g, b float64 }

func (c rgb) mix(o rgb, t float64) rgb {
	return rgb{c.r + (o.r-c.r)*t, c.g + (o.g-c.g)*t, c.b + (o.b-c.b)*t}
}

func (c rgb) times(s float64) rgb { return rgb{c.r * s, c.g * s, c.b * s} }

// coat colours shared by all categories; categories differ only in how
// often they use each, so colour alone never decides the category.
var coats = []rgb{
	{0.93, 0.91, 0.86}, // white/cream
	{0.12, 0.11, 0.10}, // black
	{0.45, 0.28, 0.15}, // brown
	{0.78, 0.60, 0.38}, // tan
	{0.55, 0.55, 0.55}, // grey
	{0.85, 0.48, 0.18}, // ginger
	{0.30, 0.22, 0.18}, // dark brown
	{0.62, 0.68, 0.76}, // blue-grey (birds, some cats)
	{0.80, 0.72, 0.25}, // yellow
	{0.70, 0.25, 0.20}, // red-brown
}

// coatWeights[category] are the relative frequencies of coats; every entry is
// positive so every colour occurs in every category.
var coatWeights = [][]float64{
	Bird:  {2, 2, 3, 1, 2, 1, 1, 3, 3, 2},
	Cat:   {2, 2, 2, 2, 3, 3, 1, 2, 1, 1},
	Cow:   {3, 3, 3, 2, 1, 1, 2, 1, 1, 2},
	Dog:   {2, 2, 3, 3, 2, 2, 2, 1, 1, 1},
	Horse: {2, 2, 3, 2, 2, 1, 3, 1, 1, 2},
	Sheep: {4, 2, 1, 2, 2, 1, 1, 1, 1, 1},
}

func pickWeighted(rng *rand.Rand, w []float64) int {
	total := 0.0
	for _, v := range w {
		total += v
	}
	x := rng.Float64() * total
	for i, v := range w {
		x -= v
		if x < 0 {
			return i
		}
	}
	return len(w) - 1
}

// jitter perturbs a colour so that no two figures share an exact shade.
func jitter(rng *rand.Rand, c rgb, amount float64) rgb {
	j := func(v float64) float64 { return clamp01(v + (rng.Float64()*2-1)*amount) }
	s := 1 + (rng.Float64()*2-1)*amount
	return rgb{j(c.r * s), j(c.g * s), j(c.b * s)}
}

func randomColour(rng *rand.Rand) rgb {
	return rgb{rng.Float64(), rng.Float64(), rng.Float64()}
}

// clamp01 clips v to [0,1] (plain comparisons: math.Max/Min's NaN and
// signed-zero handling costs a lot in the per-pixel loops).
func clamp01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// texture kinds for painted regions.
type texture uint8

const (
	texSolid   texture = iota
	texSpots           // irregular patches (cow-like, but used by all)
	texStripes         // tabby stripes
	texWool            // curly high-frequency noise
	texSpeckle         // fine noise
)

// paint colours a region as a function of the point in the region's own
// frame, so textures move with the figure and do not depend on image size.
type paint struct {
	base, second rgb
	tex          texture
	freq         float64 // texture frequency in frame units⁻¹
	dir          vec     // stripe direction
	seed         uint32
	shadeTop     float64 // vertical shading: brighter at y = -shadeSpan
	shadeSpan    float64
	centreY      float64
}

func (pt *paint) at(p vec) rgb {
	c := pt.base
	switch pt.tex {
	case texSpots:
		if valueNoise(pt.seed, p.x*pt.freq, p.y*pt.freq) > 0.6 {
			c = pt.second
		}
	case texStripes:
		s := math.Sin((p.dot(pt.dir))*pt.freq*2*math.Pi + 2*valueNoise(pt.seed, p.x*3, p.y*3))
		if s > 0.35 {
			c = c.mix(pt.second, 0.75)
		}
	case texWool:
		n := valueNoise(pt.seed, p.x*pt.freq, p.y*pt.freq)
		n2 := valueNoise(pt.seed+7, p.x*pt.freq*2.1, p.y*pt.freq*2.1)
		c = c.times(0.72 + 0.22*n + 0.14*n2)
	case texSpeckle:
		n := valueNoise(pt.seed, p.x*pt.freq, p.y*pt.freq)
		c = c.mix(pt.second, 0.35*n)
	}
	if pt.shadeSpan > 0 {
		t := (p.y - pt.centreY) / pt.shadeSpan // -1 top … +1 bottom
		c = c.times(1 + pt.shadeTop*math.Max(-1, math.Min(1, -t)))
	}
	return c
}

// hash2 is a small integer hash used for value noise and sensor noise.
func hash2(seed uint32, x, y int32) uint32 {
	h := seed*0x9E3779B1 ^ uint32(x)*0x85EBCA77 ^ uint32(y)*0xC2B2AE3D
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	h *= 0x297A2D39
	h ^= h >> 15
	return h
}

func hashUnit(seed uint32, x, y int32) float64 {
	return float64(hash2(seed, x, y)) / float64(1<<32)
}

// valueNoise is smooth lattice noise in [0,1].
func valueNoise(seed uint32, x, y float64) float64 {
	fx, fy := math.Floor(x), math.Floor(y)
	ix, iy := int32(fx), int32(fy)
	tx, ty := x-fx, y-fy
	tx = tx * tx * (3 - 2*tx)
	ty = ty * ty * (3 - 2*ty)
	a := hashUnit(seed, ix, iy)
	b := hashUnit(seed, ix+1, iy)
	c := hashUnit(seed, ix, iy+1)
	d := hashUnit(seed, ix+1, iy+1)
	top := a + (b-a)*tx
	bot := c + (d-c)*tx
	return top + (bot-top)*ty
}
