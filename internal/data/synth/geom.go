package synth

import "math"

// vec is a point in some 2-D frame (object frame or normalised image frame).
type vec struct{ x, y float64 }

func (a vec) add(b vec) vec             { return vec{a.x + b.x, a.y + b.y} }
func (a vec) sub(b vec) vec             { return vec{a.x - b.x, a.y - b.y} }
func (a vec) scale(s float64) vec       { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64         { return a.x*b.x + a.y*b.y }
func (a vec) len() float64              { return math.Hypot(a.x, a.y) }
func (a vec) lerp(b vec, t float64) vec { return a.add(b.sub(a).scale(t)) }

// polar is the unit vector at angle a (radians, y down, so negative angles point up).
func polar(a float64) vec { return vec{math.Cos(a), math.Sin(a)} }

// affine maps p to (m00 x + m01 y + tx, m10 x + m11 y + ty).
type affine struct{ m00, m01, m10, m11, tx, ty float64 }

var identity = affine{m00: 1, m11: 1}

func (t affine) apply(p vec) vec {
	return vec{t.m00*p.x + t.m01*p.y + t.tx, t.m10*p.x + t.m11*p.y + t.ty}
}

func (t affine) inverse() affine {
	det := t.m00*t.m11 - t.m01*t.m10
	inv := affine{m00: t.m11 / det, m01: -t.m01 / det, m10: -t.m10 / det, m11: t.m00 / det}
	inv.tx = -(inv.m00*t.tx + inv.m01*t.ty)
	inv.ty = -(inv.m10*t.tx + inv.m11*t.ty)
	return inv
}

// box is an axis-aligned rectangle [lo, hi].
type box struct{ lo, hi vec }

func emptyBox() box { return box{vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}} }

func (b box) union(o box) box {
	return box{vec{math.Min(b.lo.x, o.lo.x), math.Min(b.lo.y, o.lo.y)}, vec{math.Max(b.hi.x, o.hi.x), math.Max(b.hi.y, o.hi.y)}}
}

// through maps the box's corners by t and returns their bounding box.
func (b box) through(t affine) box {
	out := emptyBox()
	for _, c := range []vec{b.lo, {b.hi.x, b.lo.y}, {b.lo.x, b.hi.y}, b.hi} {
		p := t.apply(c)
		out = out.union(box{p, p})
	}
	return out
}

// shape is a filled region; rasterisation tests pixel centres with contains,
// so the drawn pixels and the mask pixels are the same set by construction.
type shape interface {
	contains(p vec) bool
	bounds() box
}

// ellipse with centre c, semi-axes rx (along angle) and ry.
type ellipse struct {
	c              vec
	rx, ry         float64
	cos, sin       float64
	invRx2, invRy2 float64
}

func newEllipse(c vec, rx, ry, angle float64) *ellipse {
	return &ellipse{c: c, rx: rx, ry: ry, cos: math.Cos(angle), sin: math.Sin(angle), invRx2: 1 / (rx * rx), invRy2: 1 / (ry * ry)}
}

func (e *ellipse) contains(p vec) bool {
	dx, dy := p.x-e.c.x, p.y-e.c.y
	u := dx*e.cos + dy*e.sin
	v := -dx*e.sin + dy*e.cos
	return u*u*e.invRx2+v*v*e.invRy2 <= 1
}

func (e *ellipse) bounds() box {
	ex := math.Hypot(e.rx*e.cos, e.ry*e.sin)
	ey := math.Hypot(e.rx*e.sin, e.ry*e.cos)
	return box{vec{e.c.x - ex, e.c.y - ey}, vec{e.c.x + ex, e.c.y + ey}}
}

// capsule is a segment a-b swept by a disc whose radius goes linearly from
// ra at a to rb at b: limbs, necks, tails, horns.
type capsule struct {
	a, b   vec
	ra, rb float64
	ab     vec
	invAB2 float64
}

func newCapsule(a, b vec, ra, rb float64) *capsule {
	ab := b.sub(a)
	l2 := ab.dot(ab)
	if l2 == 0 {
		l2 = 1e-12
	}
	return &capsule{a: a, b: b, ra: ra, rb: rb, ab: ab, invAB2: 1 / l2}
}

func (c *capsule) contains(p vec) bool {
	ap := p.sub(c.a)
	t := ap.dot(c.ab) * c.invAB2
	if t < 0 {
		t = 0
	} else if t > 1 {
		t = 1
	}
	dx, dy := ap.x-c.ab.x*t, ap.y-c.ab.y*t
	r := c.ra + (c.rb-c.ra)*t
	return dx*dx+dy*dy <= r*r
}

func (c *capsule) bounds() box {
	r := math.Max(c.ra, c.rb)
	return box{vec{math.Min(c.a.x, c.b.x) - r, math.Min(c.a.y, c.b.y) - r}, vec{math.Max(c.a.x, c.b.x) + r, math.Max(c.a.y, c.b.y) + r}}
}

// polygon is a simple polygon tested with the even-odd rule.
type polygon struct {
	pts []vec
	bb  box
}

func newPolygon(pts ...vec) *polygon {
	bb := emptyBox()
	for _, p := range pts {
		bb = bb.union(box{p, p})
	}
	return &polygon{pts: pts, bb: bb}
}

func (g *polygon) contains(p vec) bool {
	if p.x < g.bb.lo.x || p.x > g.bb.hi.x || p.y < g.bb.lo.y || p.y > g.bb.hi.y {
		return false
	}
	in := false
	j := len(g.pts) - 1
	for i := range g.pts {
		a, b := g.pts[i], g.pts[j]
		if (a.y > p.y) != (b.y > p.y) && p.x < (b.x-a.x)*(p.y-a.y)/(b.y-a.y)+a.x {
			in = !in
		}
		j = i
	}
	return in
}

func (g *polygon) bounds() box { return g.bb }

// blob is a star-shaped region r(θ) = r·(1 + Σ amp_k cos(freq_k θ + phase_k)):
// woolly bodies, tufts and distractor blobs.
type blob struct {
	c          vec
	r, ry      float64 // ry/r squashes the blob vertically
	amp, phase []float64
	freq       []float64
	rMin, rMax float64
}

func newBlob(c vec, r, ry float64, amp, freq, phase []float64) *blob {
	total := 0.0
	for _, a := range amp {
		total += math.Abs(a)
	}
	return &blob{c: c, r: r, ry: ry, amp: amp, freq: freq, phase: phase, rMin: r * (1 - total), rMax: r * (1 + total)}
}

func (b *blob) contains(p vec) bool {
	dx, dy := p.x-b.c.x, (p.y-b.c.y)*b.r/b.ry
	d2 := dx*dx + dy*dy
	if d2 > b.rMax*b.rMax {
		return false
	}
	if d2 <= b.rMin*b.rMin {
		return true
	}
	th := math.Atan2(dy, dx)
	r := 1.0
	for k, a := range b.amp {
		r += a * math.Cos(b.freq[k]*th+b.phase[k])
	}
	r *= b.r
	return d2 <= r*r
}

func (b *blob) bounds() box {
	ey := b.rMax * b.ry / b.r
	return box{vec{b.c.x - b.rMax, b.c.y - ey}, vec{b.c.x + b.rMax, b.c.y + ey}}
}
