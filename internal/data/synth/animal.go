package synth

import (
	"math"
	"math/rand/v2"
)

// item is one filled shape of a figure, in the figure's object frame: x
// points from tail to head, y points down, the torso centre is the origin.
type item struct {
	shp  shape
	part Part
	z    int
	pt   *paint
}

// Drawing order inside a figure (higher z on top). Far-side limbs and ears
// sit behind the torso/head, near-side ones in front.
const (
	zFarLeg   = 10
	zTail     = 15
	zFarEar   = 18
	zFarHorn  = 19
	zTorso    = 20
	zNeck     = 22
	zMane     = 24
	zWing     = 26
	zNearLeg  = 30
	zHead     = 40
	zMuzzle   = 42
	zNearEar  = 44
	zNearHorn = 45
	zEye      = 50
)

// figure is an assembled animal in its object frame.
type figure struct {
	items []item
	// bounds caches the items' bounds for the landmark queries.
	bounds []box
	// landmarks in the object frame, chosen where the landmark's own part
	// group owns the point in the figure alone (before occlusion).
	landmarks [numLandmarks]vec
}

// topGroup is the group of the topmost item containing p, ignoring occluders.
func (f *figure) topGroup(p vec) Group {
	if len(f.bounds) != len(f.items) {
		f.bounds = f.bounds[:0]
		for _, it := range f.items {
			f.bounds = append(f.bounds, it.shp.bounds())
		}
	}
	best, g := math.MinInt, GroupNone
	for i := range f.items {
		it, b := &f.items[i], f.bounds[i]
		if it.z > best && p.x >= b.lo.x && p.x <= b.hi.x && p.y >= b.lo.y && p.y <= b.hi.y && it.shp.contains(p) {
			best, g = it.z, PartGroup[it.part]
		}
	}
	return g
}

// clearance is how far (in object units, from a fixed ladder) one can go
// from p in eight directions while staying on group g; landmarks take the
// candidate with the largest clearance so they survive pixel rounding.
func (f *figure) clearance(p vec, g Group) float64 {
	if f.topGroup(p) != g {
		return -1
	}
	best := 0.0
	for _, r := range []float64{0.01, 0.02, 0.035, 0.05, 0.08, 0.12} {
		for _, d := range ringDirections {
			if f.topGroup(p.add(d.scale(r))) != g {
				return best
			}
		}
		best = r
	}
	return best
}

// ringDirections are the eight compass directions clearance probes.
var ringDirections = func() (d [8]vec) {
	for k := range d {
		d[k] = polar(float64(k) * math.Pi / 4)
	}
	return d
}()

// pickLandmark returns the candidate deepest inside group g (the first one on
// ties), or the first candidate if none lies on g.
func (f *figure) pickLandmark(g Group, candidates []vec) vec {
	bestC, best := -2.0, candidates[0]
	for _, c := range candidates {
		if cl := f.clearance(c, g); cl > bestC {
			bestC, best = cl, c
		}
	}
	return best
}

// along samples n points on the polyline pts between fractions t0 and t1 of its length.
func along(pts []vec, t0, t1 float64, n int) []vec {
	total := 0.0
	for i := 1; i < len(pts); i++ {
		total += pts[i].sub(pts[i-1]).len()
	}
	out := make([]vec, 0, n)
	for k := range n {
		t := t0 + (t1-t0)*float64(k)/float64(max(n-1, 1))
		want := t * total
		for i := 1; i < len(pts); i++ {
			seg := pts[i].sub(pts[i-1]).len()
			if want <= seg || i == len(pts)-1 {
				out = append(out, pts[i-1].lerp(pts[i], math.Min(1, want/math.Max(seg, 1e-12))))
				break
			}
			want -= seg
		}
	}
	return out
}

// Kinds of category-specific parts.
type earKind uint8

const (
	earNone earKind = iota
	earPointed
	earFloppy
	earSide
)

type hornKind uint8

const (
	hornNone hornKind = iota
	hornShort
	hornCurled
)

type tailKind uint8

const (
	tailThin tailKind = iota
	tailBushy
	tailFan
	tailTuft
	tailStub
)

type torsoKind uint8

const (
	torsoEllipse torsoKind = iota
	torsoBoxy
	torsoWool
)

// plan holds a figure's sampled proportions and articulation, in torso units.
type plan struct {
	torso              torsoKind
	torsoRx, torsoRy   float64
	tilt               float64 // torso axis angle (negative: front up)
	neckLen, neckAngle float64
	neckR0, neckR1     float64
	headRx, headRy     float64
	headAngle          float64
	muzzleLen, muzzleW float64
	beakLen, beakW     float64
	ear                earKind
	earSize            float64
	horn               hornKind
	hornSize           float64
	mane, wing         bool
	legs               int // 2 or 4
	legLen, legR       float64
	legSwing, legBend  float64
	tail               tailKind
	tailLen, tailR     float64
	tailAngle, tailCrl float64
}

// u draws uniformly from [lo, hi].
func u(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// deg converts degrees to radians.
func deg(d float64) float64 { return d * math.Pi / 180 }

// samplePlan draws a category's proportions. artic in [0.3, 1] widens the
// articulation ranges with difficulty. Ranges of different categories
// overlap in every single measurement; the category shows in the combination.
func samplePlan(rng *rand.Rand, cat int, artic float64) plan {
	sw := func(r float64) float64 { return (rng.Float64()*2 - 1) * r * artic }
	var p plan
	switch cat {
	case Bird:
		p = plan{torso: torsoEllipse, torsoRx: u(rng, 0.42, 0.5), torsoRy: u(rng, 0.25, 0.31), tilt: deg(-28) + sw(deg(15)),
			neckLen: u(rng, 0.18, 0.26), neckAngle: deg(-75) + sw(deg(15)), neckR0: 0.11, neckR1: 0.08,
			headRx: u(rng, 0.15, 0.18), headRy: u(rng, 0.14, 0.16), headAngle: sw(deg(20)),
			beakLen: u(rng, 0.12, 0.26), beakW: u(rng, 0.045, 0.07),
			wing: true, legs: 2, legLen: u(rng, 0.3, 0.42), legR: u(rng, 0.032, 0.04), legSwing: sw(deg(12)), legBend: sw(deg(20)),
			tail: tailFan, tailLen: u(rng, 0.28, 0.42), tailR: u(rng, 0.08, 0.13), tailAngle: deg(170) + sw(deg(25))}
	case Cat:
		p = plan{torso: torsoEllipse, torsoRx: u(rng, 0.46, 0.56), torsoRy: u(rng, 0.16, 0.21), tilt: sw(deg(6)),
			neckLen: u(rng, 0.16, 0.22), neckAngle: deg(-50) + sw(deg(15)), neckR0: 0.1, neckR1: 0.08,
			headRx: u(rng, 0.15, 0.18), headRy: u(rng, 0.14, 0.17), headAngle: sw(deg(15)),
			muzzleLen: u(rng, 0.07, 0.1), muzzleW: u(rng, 0.05, 0.065),
			ear: earPointed, earSize: u(rng, 0.1, 0.14),
			legs: 4, legLen: u(rng, 0.3, 0.4), legR: u(rng, 0.045, 0.055), legSwing: sw(deg(18)), legBend: sw(deg(20)),
			tail: tailThin, tailLen: u(rng, 0.55, 0.8), tailR: u(rng, 0.035, 0.045), tailAngle: deg(-150) + sw(deg(30)), tailCrl: deg(35) + sw(deg(25))}
	case Cow:
		p = plan{torso: torsoBoxy, torsoRx: u(rng, 0.5, 0.6), torsoRy: u(rng, 0.27, 0.33), tilt: sw(deg(4)),
			neckLen: u(rng, 0.16, 0.22), neckAngle: deg(-25) + sw(deg(12)), neckR0: 0.15, neckR1: 0.11,
			headRx: u(rng, 0.17, 0.2), headRy: u(rng, 0.12, 0.15), headAngle: deg(45) + sw(deg(20)),
			muzzleLen: u(rng, 0.11, 0.14), muzzleW: u(rng, 0.09, 0.11),
			ear: earSide, earSize: u(rng, 0.09, 0.12), horn: hornShort, hornSize: u(rng, 0.1, 0.15),
			legs: 4, legLen: u(rng, 0.34, 0.44), legR: u(rng, 0.065, 0.08), legSwing: sw(deg(12)), legBend: sw(deg(10)),
			tail: tailTuft, tailLen: u(rng, 0.45, 0.6), tailR: u(rng, 0.025, 0.03), tailAngle: deg(110) + sw(deg(15)), tailCrl: sw(deg(10))}
	case Dog:
		p = plan{torso: torsoEllipse, torsoRx: u(rng, 0.45, 0.55), torsoRy: u(rng, 0.19, 0.25), tilt: sw(deg(6)),
			neckLen: u(rng, 0.2, 0.28), neckAngle: deg(-55) + sw(deg(15)), neckR0: 0.12, neckR1: 0.09,
			headRx: u(rng, 0.16, 0.19), headRy: u(rng, 0.13, 0.16), headAngle: deg(5) + sw(deg(15)),
			muzzleLen: u(rng, 0.18, 0.26), muzzleW: u(rng, 0.065, 0.085),
			ear: earFloppy, earSize: u(rng, 0.14, 0.19),
			legs: 4, legLen: u(rng, 0.38, 0.52), legR: u(rng, 0.05, 0.06), legSwing: sw(deg(22)), legBend: sw(deg(20)),
			tail: tailThin, tailLen: u(rng, 0.3, 0.45), tailR: u(rng, 0.045, 0.05), tailAngle: deg(-140) + sw(deg(30)), tailCrl: deg(15) + sw(deg(20))}
	case Horse:
		p = plan{torso: torsoEllipse, torsoRx: u(rng, 0.5, 0.58), torsoRy: u(rng, 0.2, 0.25), tilt: sw(deg(4)),
			neckLen: u(rng, 0.38, 0.5), neckAngle: deg(-62) + sw(deg(12)), neckR0: 0.13, neckR1: 0.08,
			headRx: u(rng, 0.21, 0.26), headRy: u(rng, 0.085, 0.105), headAngle: deg(55) + sw(deg(20)),
			muzzleLen: u(rng, 0.09, 0.12), muzzleW: u(rng, 0.075, 0.09),
			ear: earPointed, earSize: u(rng, 0.07, 0.1), mane: true,
			legs: 4, legLen: u(rng, 0.6, 0.75), legR: u(rng, 0.045, 0.055), legSwing: sw(deg(20)), legBend: sw(deg(25)),
			tail: tailBushy, tailLen: u(rng, 0.5, 0.65), tailR: u(rng, 0.03, 0.035), tailAngle: deg(125) + sw(deg(20)), tailCrl: deg(-5) + sw(deg(10))}
	case Sheep:
		p = plan{torso: torsoWool, torsoRx: u(rng, 0.46, 0.53), torsoRy: u(rng, 0.3, 0.36), tilt: sw(deg(4)),
			neckLen: u(rng, 0.14, 0.2), neckAngle: deg(-30) + sw(deg(15)), neckR0: 0.12, neckR1: 0.09,
			headRx: u(rng, 0.15, 0.17), headRy: u(rng, 0.1, 0.12), headAngle: deg(35) + sw(deg(20)),
			muzzleLen: u(rng, 0.07, 0.09), muzzleW: u(rng, 0.06, 0.075),
			ear: earSide, earSize: u(rng, 0.07, 0.1),
			legs: 4, legLen: u(rng, 0.26, 0.34), legR: u(rng, 0.04, 0.048), legSwing: sw(deg(12)), legBend: sw(deg(10)),
			tail: tailStub, tailLen: u(rng, 0.12, 0.16), tailR: u(rng, 0.06, 0.075), tailAngle: deg(160) + sw(deg(20))}
		if rng.Float64() < 0.35 {
			p.horn, p.hornSize = hornCurled, u(rng, 0.07, 0.09)
		}
	}
	return p
}

// texture frequencies per category: solid, spots, stripes, wool, speckle.
var textureWeights = [][]float64{
	Bird:  {3, 1, 2, 0.3, 2},
	Cat:   {3, 1, 3, 0.3, 1},
	Cow:   {3, 4, 0.3, 0.3, 1},
	Dog:   {4, 2, 1, 0.5, 1},
	Horse: {5, 1, 0.2, 0.2, 1},
	Sheep: {1, 0.3, 0.2, 6, 1},
}

// coatPaints draws the figure's colours: body coat, head/legs variants and
// accessory colours (beak, horn, eye).
type coatPaints struct {
	body, head, legs, farLegs, muzzle, ear, tail, mane, wing *paint
	eye, beak, horn                                          *paint
}

func sampleCoat(rng *rand.Rand, cat int, p plan, colourJitter float64) coatPaints {
	base := jitter(rng, coats[pickWeighted(rng, coatWeights[cat])], colourJitter)
	second := jitter(rng, coats[pickWeighted(rng, coatWeights[cat])], colourJitter)
	if math.Abs(base.r-second.r)+math.Abs(base.g-second.g)+math.Abs(base.b-second.b) < 0.3 {
		second = base.mix(rgb{1 - base.r, 1 - base.g, 1 - base.b}, 0.6)
	}
	tex := texture(pickWeighted(rng, textureWeights[cat]))
	seed := rng.Uint32()
	body := &paint{base: base, second: second, tex: tex, freq: u(rng, 5, 9), dir: polar(u(rng, deg(60), deg(120))), seed: seed,
		shadeTop: 0.15, shadeSpan: p.torsoRy}
	if tex == texWool {
		body.freq = u(rng, 22, 32)
	}
	if tex == texStripes {
		body.freq = u(rng, 6, 10)
	}
	solid := func(c rgb) *paint { return &paint{base: c} }
	headColour := base
	darkFace := map[int]float64{Sheep: 0.6, Cow: 0.15, Horse: 0.1, Dog: 0.15, Cat: 0.1, Bird: 0.2}[cat]
	if rng.Float64() < darkFace {
		headColour = jitter(rng, coats[1+6*rng.IntN(2)], colourJitter) // black or dark brown
	}
	head := &paint{base: headColour, second: second, tex: tex, freq: body.freq, dir: body.dir, seed: seed ^ 0x51}
	if tex == texWool || tex == texSpots {
		head.tex = texSolid // wool and patches rarely cover faces
	}
	legColour := base
	if cat == Sheep || rng.Float64() < 0.2 {
		legColour = headColour
	}
	muzzle := base.mix(rgb{1, 0.85, 0.8}, 0.45)
	if rng.Float64() < 0.4 {
		muzzle = headColour.mix(rgb{0, 0, 0}, 0.45)
	}
	tail := base
	mane := base.mix(rgb{0, 0, 0}, 0.55)
	if cat == Horse && rng.Float64() < 0.7 {
		tail = mane
	}
	if cat == Sheep {
		tail = base
	}
	tailPaint := solid(tail)
	if cat == Sheep || tex == texWool {
		tailPaint = &paint{base: tail, tex: texWool, freq: body.freq, seed: seed}
	}
	beak := []rgb{{0.95, 0.7, 0.1}, {0.9, 0.45, 0.1}, {0.2, 0.18, 0.16}, {0.75, 0.7, 0.6}}[rng.IntN(4)]
	horn := []rgb{{0.88, 0.84, 0.7}, {0.55, 0.5, 0.45}, {0.3, 0.27, 0.24}}[rng.IntN(3)]
	return coatPaints{
		body: body, head: head, legs: solid(legColour), farLegs: solid(legColour.times(0.72)),
		muzzle: solid(muzzle), ear: solid(headColour.times(0.85)), tail: tailPaint, mane: solid(mane),
		wing: &paint{base: base.mix(second, 0.6), second: base.times(0.6), tex: texStripes, freq: u(rng, 8, 14), dir: polar(deg(20)), seed: seed ^ 0x77},
		eye:  solid(rgb{0.04, 0.04, 0.05}), beak: solid(beak), horn: solid(horn),
	}
}

// buildFigure assembles a figure of category cat from a freshly drawn plan.
func buildFigure(rng *rand.Rand, cat int, difficulty float64) *figure {
	artic := 0.3 + 0.7*difficulty
	p := samplePlan(rng, cat, artic)
	cp := sampleCoat(rng, cat, p, 0.04+0.08*difficulty)
	f := &figure{}
	add := func(s shape, part Part, z int, pt *paint) { f.items = append(f.items, item{s, part, z, pt}) }

	// Torso frame: point (fx, fy) in units of the torso radii.
	tc, ts := math.Cos(p.tilt), math.Sin(p.tilt)
	torsoPt := func(fx, fy float64) vec {
		x, y := fx*p.torsoRx, fy*p.torsoRy
		return vec{x*tc - y*ts, x*ts + y*tc}
	}
	switch p.torso {
	case torsoEllipse:
		add(newEllipse(vec{}, p.torsoRx, p.torsoRy, p.tilt), PartTorso, zTorso, cp.body)
	case torsoBoxy:
		// A superellipse |x|^4 + |y|^4 = 1: a barrel-shaped, boxy body.
		pts := make([]vec, 0, 48)
		for k := range 48 {
			a := float64(k) * 2 * math.Pi / 48
			c, s := math.Cos(a), math.Sin(a)
			pts = append(pts, torsoPt(math.Copysign(math.Sqrt(math.Abs(c)), c), math.Copysign(math.Sqrt(math.Abs(s)), s)))
		}
		add(newPolygon(pts...), PartTorso, zTorso, cp.body)
	case torsoWool:
		n := 3
		amp, freq, phase := make([]float64, n), make([]float64, n), make([]float64, n)
		for k := range n {
			amp[k] = u(rng, 0.02, 0.04)
			freq[k] = float64(9 + 4*k + rng.IntN(3))
			phase[k] = u(rng, 0, 2*math.Pi)
		}
		add(newBlob(vec{}, p.torsoRx*0.96, p.torsoRy*0.96, amp, freq, phase), PartTorso, zTorso, cp.body)
	}

	// Neck and head.
	neckBase := torsoPt(0.72, -0.45)
	neckDir := polar(p.neckAngle + p.tilt*0.5)
	headC := neckBase.add(neckDir.scale(p.neckLen))
	add(newCapsule(neckBase, headC, p.neckR0, p.neckR1), PartNeck, zNeck, cp.body)
	hDir := polar(p.headAngle)
	hUp := vec{hDir.y, -hDir.x}
	if hUp.y > 0 { // keep "up" pointing up for heads tilted past vertical
		hUp = hUp.scale(-1)
	}
	add(newEllipse(headC, p.headRx, p.headRy, p.headAngle), PartHead, zHead, cp.head)
	if p.muzzleLen > 0 {
		mc := headC.add(hDir.scale(p.headRx*0.8 + p.muzzleLen*0.35))
		add(newEllipse(mc, p.muzzleLen*0.6, p.muzzleW, p.headAngle), PartMuzzle, zMuzzle, cp.muzzle)
	}
	if p.beakLen > 0 {
		b0 := headC.add(hDir.scale(p.headRx * 0.75))
		add(newPolygon(b0.add(hUp.scale(p.beakW)), headC.add(hDir.scale(p.headRx+p.beakLen)), b0.sub(hUp.scale(p.beakW))), PartBeak, zMuzzle, cp.beak)
	}
	eyeR := math.Max(0.03, p.headRy*0.22)
	add(newEllipse(headC.add(hDir.scale(p.headRx*0.35)).add(hUp.scale(p.headRy*0.3)), eyeR, eyeR, 0), PartEye, zEye, cp.eye)
	f.addEars(p, headC, hDir, hUp, cp)
	f.addHorns(p, headC, hDir, hUp, cp)
	if p.mane {
		// A saw-toothed strip along the back of the neck.
		back := vec{neckDir.y, -neckDir.x}
		if back.x > 0 {
			back = back.scale(-1)
		}
		start := neckBase.add(back.scale(p.neckR0 * 0.6)).sub(neckDir.scale(0.05))
		end := headC.add(back.scale(p.neckR1 * 0.9)).sub(neckDir.scale(p.headRy * 0.4))
		const teeth = 6
		pts := []vec{}
		for k := 0; k <= teeth; k++ {
			t := float64(k) / teeth
			pts = append(pts, start.lerp(end, t).add(back.scale(0.06+0.05*float64(k%2))))
		}
		pts = append(pts, end.sub(back.scale(0.03)), start.sub(back.scale(0.03)))
		add(newPolygon(pts...), PartMane, zMane, cp.mane)
	}
	if p.wing {
		wc := torsoPt(-0.1, -0.15)
		add(newEllipse(wc, p.torsoRx*0.78, p.torsoRy*0.55, p.tilt+deg(10)), PartWing, zWing, cp.wing)
	}

	// Legs: near legs in front of the torso, far legs behind and darker.
	legPts := f.addLegs(rng, p, torsoPt, cp)
	tailPts := f.addTail(rng, p, torsoPt, cp)

	// Landmarks.
	f.landmarks[LandmarkHead] = f.pickLandmark(GroupHead, []vec{headC, headC.sub(hDir.scale(p.headRx * 0.3)), headC.add(hUp.scale(-p.headRy * 0.3))})
	f.landmarks[LandmarkNeck] = f.pickLandmark(GroupNeck, along([]vec{neckBase, headC}, 0.05, 0.9, 12))
	f.landmarks[LandmarkTorso] = f.pickLandmark(GroupTorso, []vec{{}, torsoPt(-0.2, 0), torsoPt(0.2, 0), torsoPt(0, -0.3), torsoPt(-0.4, 0)})
	f.landmarks[LandmarkFrontLegs] = f.pickLandmark(GroupLegs, along(legPts[0], 0.25, 0.95, 12))
	f.landmarks[LandmarkBackLegs] = f.pickLandmark(GroupLegs, along(legPts[1], 0.25, 0.95, 12))
	f.landmarks[LandmarkTail] = f.pickLandmark(GroupTail, along(tailPts, 0.2, 1, 12))
	return f
}

func (f *figure) addEars(p plan, headC, hDir, hUp vec, cp coatPaints) {
	add := func(s shape, z int, pt *paint) { f.items = append(f.items, item{s, PartEar, z, pt}) }
	far := &paint{base: cp.ear.base.times(0.75)}
	switch p.ear {
	case earPointed:
		for k, off := range []float64{0.25, -0.25} {
			b := headC.add(hUp.scale(p.headRy * 0.75)).add(hDir.scale(p.headRx * off))
			w := p.earSize * 0.5
			tip := b.add(hUp.scale(p.earSize * 1.1)).sub(hDir.scale(p.earSize * 0.15))
			z, pt := zNearEar, cp.ear
			if k == 1 {
				z, pt = zFarEar, far
			}
			add(newPolygon(b.sub(hDir.scale(w)), tip, b.add(hDir.scale(w)), b.sub(hUp.scale(p.earSize*0.3))), z, pt)
		}
	case earFloppy:
		c := headC.sub(hDir.scale(p.headRx * 0.35)).sub(hUp.scale(p.earSize * 0.2))
		a := math.Atan2(hUp.y, hUp.x) + math.Pi/2
		add(newEllipse(c, p.earSize*0.6, p.earSize*0.3, a+deg(15)), zNearEar, cp.ear)
	case earSide:
		for k, off := range []float64{0, 0.12} {
			c := headC.sub(hDir.scale(p.headRx * (0.75 + off))).add(hUp.scale(p.headRy * (0.55 + off)))
			a := math.Atan2(hDir.y, hDir.x) + math.Pi*0.85
			z, pt := zNearEar, cp.ear
			if k == 1 {
				z, pt = zFarEar, far
			}
			add(newEllipse(c, p.earSize, p.earSize*0.42, a), z, pt)
		}
	}
}

func (f *figure) addHorns(p plan, headC, hDir, hUp vec, cp coatPaints) {
	add := func(s shape, z int) { f.items = append(f.items, item{s, PartHorn, z, cp.horn}) }
	switch p.horn {
	case hornShort:
		for k, off := range []float64{-0.1, -0.3} {
			b := headC.add(hUp.scale(p.headRy * 0.8)).add(hDir.scale(p.headRx * off))
			m := b.add(hUp.scale(p.hornSize * 0.6)).sub(hDir.scale(p.hornSize * 0.15))
			t := m.add(hUp.scale(p.hornSize * 0.3)).add(hDir.scale(p.hornSize * 0.35))
			z := zNearHorn
			if k == 1 {
				z = zFarHorn
			}
			add(newCapsule(b, m, 0.035, 0.025), z)
			add(newCapsule(m, t, 0.025, 0.012), z)
		}
	case hornCurled:
		// A spiral around the side of the head, drawn as a chain of capsules.
		c := headC.sub(hDir.scale(p.headRx * 0.45)).add(hUp.scale(p.headRy * 0.35))
		a0 := math.Atan2(hUp.y, hUp.x)
		prev := c.add(polar(a0).scale(p.hornSize))
		for k := 1; k <= 7; k++ {
			a := a0 - float64(k)*deg(45)
			r := p.hornSize * (1 - 0.06*float64(k))
			next := c.add(polar(a).scale(r))
			add(newCapsule(prev, next, 0.035-0.002*float64(k), 0.035-0.002*float64(k+1)), zNearHorn)
			prev = next
		}
	}
}

// addLegs draws the legs and returns the skeleton polylines of the near
// front leg and the near back leg (for birds: near and far leg).
func (f *figure) addLegs(rng *rand.Rand, p plan, torsoPt func(fx, fy float64) vec, cp coatPaints) [2][]vec {
	type legSpec struct {
		hip         vec
		part        Part
		near        bool
		swing, bend float64
	}
	var specs []legSpec
	if p.legs == 2 {
		specs = []legSpec{
			{torsoPt(0.1, 0.8), PartFrontLeg, true, p.legSwing, p.legBend},
			{torsoPt(-0.12, 0.8), PartBackLeg, false, -p.legSwing, -p.legBend * 0.5},
		}
	} else {
		jit := func() float64 { return (rng.Float64()*2 - 1) * deg(6) }
		specs = []legSpec{
			{torsoPt(0.6, 0.55), PartFrontLeg, true, p.legSwing + jit(), p.legBend},
			{torsoPt(-0.58, 0.55), PartBackLeg, true, -p.legSwing + jit(), -p.legBend},
			{torsoPt(0.68, 0.45), PartFrontLeg, false, -p.legSwing + jit(), -p.legBend * 0.5},
			{torsoPt(-0.5, 0.45), PartBackLeg, false, p.legSwing + jit(), p.legBend * 0.5},
		}
	}
	var skel [2][]vec
	for i, s := range specs {
		// Angles are measured from straight down; positive swings forward.
		down := deg(90)
		upper := s.hip.add(polar(down - s.swing).scale(p.legLen * 0.5))
		foot := upper.add(polar(down - s.swing - s.bend).scale(p.legLen * 0.55))
		z, pt := zNearLeg, cp.legs
		if !s.near {
			z, pt = zFarLeg, cp.farLegs
		}
		f.items = append(f.items, item{newCapsule(s.hip, upper, p.legR, p.legR*0.85), s.part, z, pt})
		f.items = append(f.items, item{newCapsule(upper, foot, p.legR*0.85, p.legR*0.7), s.part, z, pt})
		if p.legs == 2 { // bird toes
			f.items = append(f.items, item{newCapsule(foot, foot.add(vec{p.legLen * 0.22, 0}), p.legR*0.6, p.legR*0.5), s.part, z, pt})
		}
		if i < 2 {
			skel[i] = []vec{s.hip, upper, foot}
		}
	}
	return skel
}

// addTail draws the tail and returns its skeleton polyline.
func (f *figure) addTail(rng *rand.Rand, p plan, torsoPt func(fx, fy float64) vec, cp coatPaints) []vec {
	add := func(s shape) { f.items = append(f.items, item{s, PartTail, zTail, cp.tail}) }
	base := torsoPt(-0.9, -0.35)
	switch p.tail {
	case tailFan:
		base = torsoPt(-0.85, 0.05)
		d := polar(p.tailAngle + p.tilt*0.5)
		n := vec{d.y, -d.x}
		tip := base.add(d.scale(p.tailLen))
		add(newPolygon(base.add(n.scale(p.tailR*0.4)), tip.add(n.scale(p.tailR)), base.add(d.scale(p.tailLen*0.88)), tip.sub(n.scale(p.tailR)), base.sub(n.scale(p.tailR*0.4))))
		return []vec{base, tip}
	case tailStub:
		d := polar(p.tailAngle)
		tip := base.add(d.scale(p.tailLen))
		add(newCapsule(base, tip, p.tailR, p.tailR*0.8))
		return []vec{base, tip}
	}
	const segs = 4
	pts := []vec{base}
	a := p.tailAngle
	seg := p.tailLen / segs
	for k := range segs {
		a += p.tailCrl / segs * 1.5
		if k == 0 {
			a = p.tailAngle
		}
		pts = append(pts, pts[len(pts)-1].add(polar(a).scale(seg)))
	}
	r := func(k int) float64 {
		t := float64(k) / segs
		switch p.tail {
		case tailBushy:
			return p.tailR * (1 + 1.8*t)
		default:
			return p.tailR * (1 - 0.3*t)
		}
	}
	for k := range segs {
		add(newCapsule(pts[k], pts[k+1], r(k), r(k+1)))
	}
	if p.tail == tailTuft {
		end := pts[segs]
		add(newBlob(end, p.tailR*2.6, p.tailR*3.4, []float64{0.15}, []float64{5}, []float64{u(rng, 0, 6)}))
	}
	return pts
}
