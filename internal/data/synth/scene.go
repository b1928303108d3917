package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
)

// Landmark is a keypoint in pixel coordinates (pixel (i, j) covers
// [i, i+1) × [j, j+1)). When Visible, the pixel containing (X, Y) belongs to
// the landmark's part group (LandmarkGroup) in Sample.Groups.
type Landmark struct {
	Name    string  `json:"name"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Visible bool    `json:"visible"`
}

// Sample is one generated image with its ground truth. All per-pixel maps
// are row-major Size×Size.
type Sample struct {
	Index        int
	Size         int
	Image        *image.RGBA
	Category     int
	CategoryName string
	// PartLabels holds the fine Part of the top-most visible object part per
	// pixel; 0 for background, distractors and occluded pixels.
	PartLabels []uint8
	// Groups holds PartGroup of PartLabels per pixel.
	Groups []uint8
	// Layers holds the Layer that drew each pixel.
	Layers    []uint8
	Landmarks []Landmark
	// Box is the tight bounding box of the object's visible pixels (empty if
	// the object is entirely hidden).
	Box image.Rectangle
	// Flipped says the figure faces left (its head towards -x).
	Flipped bool
}

// CategoryOf is the category of sample index under cfg, computed without
// drawing the image. Each block of Categories consecutive indices holds
// every category exactly once, in an order drawn from (Seed, block), so the
// categories are balanced over any range yet unpredictable from the index.
func CategoryOf(cfg Config, index int) int {
	k := cfg.Categories
	block := index / k
	rng := rand.New(rand.NewPCG(cfg.Seed^0xca7e60e1, uint64(block)))
	return rng.Perm(k)[index%k]
}

// sampleRNG is the per-index random stream: a sample depends only on
// (Seed, index), never on which samples were generated before it.
func sampleRNG(seed uint64, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(index)*0xbf58476d1ce4e5b9))
}

// layerItem is a shape placed in the image through a transform from
// normalised image coordinates into the shape's own frame.
type layerItem struct {
	shp   shape
	part  Part
	layer Layer
	pt    *paint
	toObj affine // normalised image → shape frame
}

// background is a gradient plus a clutter pattern, both functions of the
// normalised image position.
type background struct {
	c0, c1, c2 rgb
	gradDir    vec
	pattern    int // 0 stripes, 1 blotchy noise, 2 checker, 3 rings
	freq       float64
	patDir     vec
	centre     vec
	amount     float64
	seed       uint32
}

func (b *background) at(p vec) rgb {
	c := b.c0.mix(b.c1, clamp01(0.5+p.sub(vec{0.5, 0.5}).dot(b.gradDir)))
	if b.amount == 0 {
		return c
	}
	var v float64
	switch b.pattern {
	case 0:
		v = 0.5 + 0.5*math.Sin(p.dot(b.patDir)*b.freq*2*math.Pi)
	case 1:
		v = 0.65*valueNoise(b.seed, p.x*b.freq*0.6, p.y*b.freq*0.6) + 0.35*valueNoise(b.seed+1, p.x*b.freq*1.5, p.y*b.freq*1.5)
	case 2:
		q := b.patDir
		x, y := p.dot(q)*b.freq, p.dot(vec{-q.y, q.x})*b.freq
		if (int(math.Floor(x))+int(math.Floor(y)))&1 == 0 {
			v = 1
		}
	case 3:
		v = 0.5 + 0.5*math.Sin(p.sub(b.centre).len()*b.freq*2*math.Pi)
	}
	return c.mix(b.c2, v*b.amount)
}

// Generate draws sample index of the world cfg. It is a pure function of
// (cfg, index) and safe to call concurrently. It panics on an invalid cfg
// (check Config.Validate first).
func Generate(cfg Config, index int) *Sample {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	rng := sampleRNG(cfg.Seed, index)
	cat := CategoryOf(cfg, index)
	d := cfg.Difficulty

	// Background.
	bg := &background{
		c0: randomColour(rng).mix(rgb{0.5, 0.5, 0.5}, 0.3), c1: randomColour(rng).mix(rgb{0.5, 0.5, 0.5}, 0.3), c2: randomColour(rng),
		gradDir: polar(u(rng, 0, 2*math.Pi)).scale(u(rng, 0.2, 1)), pattern: rng.IntN(4), freq: u(rng, 3, 12),
		patDir: polar(u(rng, 0, 2*math.Pi)), centre: vec{rng.Float64(), rng.Float64()},
		amount: cfg.Clutter * u(rng, 0.25, 0.7), seed: rng.Uint32(),
	}

	// The figure and its pose.
	fig := buildFigure(rng, cat, d)
	flip := rng.IntN(2) == 1
	rot := (rng.Float64()*2 - 1) * deg(30) * d
	frac := u(rng, 0.72-0.22*d, 0.9)
	objBox := emptyBox()
	for _, it := range fig.items {
		objBox = objBox.union(it.shp.bounds())
	}
	fx := 1.0
	if flip {
		fx = -1
	}
	cr, sr := math.Cos(rot), math.Sin(rot)
	pose := affine{m00: cr * fx, m01: -sr, m10: sr * fx, m11: cr} // flip, then rotate
	posed := objBox.through(pose)
	scale := frac / math.Max(posed.hi.x-posed.lo.x, posed.hi.y-posed.lo.y)
	pose = affine{m00: pose.m00 * scale, m01: pose.m01 * scale, m10: pose.m10 * scale, m11: pose.m11 * scale}
	posed = objBox.through(pose)
	// Place the object inside the image, letting harder worlds truncate it a little.
	slack := 0.02 - 0.06*d
	place := func(lo, hi float64) float64 {
		a, b := slack-lo, 1-slack-hi
		if a > b {
			return (a + b) / 2
		}
		return u(rng, a, b)
	}
	pose.tx = place(posed.lo.x, posed.hi.x)
	pose.ty = place(posed.lo.y, posed.hi.y)
	posed = objBox.through(pose)
	toObj := pose.inverse()

	var layers []layerItem

	// Distractors behind the object: blobs, polygons and sticks that are not parts.
	nDistract := int(math.Round(cfg.Clutter * u(rng, 1, 7)))
	for range nDistract {
		layers = append(layers, layerItem{shp: randomShape(rng, vec{rng.Float64(), rng.Float64()}, u(rng, 0.05, 0.18)), layer: LayerDistractor, pt: distractorPaint(rng, cat), toObj: identity})
	}
	zs := make([]int, len(fig.items))
	for i := range fig.items {
		zs[i] = i
	}
	slices.SortStableFunc(zs, func(a, b int) int { return fig.items[a].z - fig.items[b].z })
	for _, i := range zs {
		it := fig.items[i]
		layers = append(layers, layerItem{shp: it.shp, part: it.part, layer: LayerObject, pt: it.pt, toObj: toObj})
	}
	// The occluder in front of the object, overlapping its box.
	if rng.Float64() < cfg.Occlusion {
		w, h := posed.hi.x-posed.lo.x, posed.hi.y-posed.lo.y
		c := vec{posed.lo.x + w*u(rng, 0.1, 0.9), posed.lo.y + h*u(rng, 0.1, 0.9)}
		size := math.Sqrt(w*h) * u(rng, 0.12, 0.18+0.17*cfg.Occlusion)
		layers = append(layers, layerItem{shp: randomShape(rng, c, size), layer: LayerOccluder, pt: distractorPaint(rng, cat), toObj: identity})
	}

	s := render(cfg.Size, bg, layers, uint32(rng.Uint64()))
	s.Index, s.Category, s.CategoryName, s.Flipped = index, cat, CategoryNames[cat], flip

	// Landmarks: the object-frame points, posed into pixels.
	s.Landmarks = make([]Landmark, numLandmarks)
	for k, p := range fig.landmarks {
		q := pose.apply(p).scale(float64(cfg.Size))
		s.Landmarks[k] = Landmark{Name: LandmarkNames[k], X: q.x, Y: q.y}
	}
	s.refreshVisibility()
	s.Box = tightBox(s.PartLabels, s.Size)
	return s
}

// refreshVisibility marks a landmark visible iff its pixel lies in the image
// and belongs to the landmark's part group.
func (s *Sample) refreshVisibility() {
	for k := range s.Landmarks {
		lm := &s.Landmarks[k]
		i, j := int(math.Floor(lm.X)), int(math.Floor(lm.Y))
		lm.Visible = i >= 0 && j >= 0 && i < s.Size && j < s.Size && Group(s.Groups[j*s.Size+i]) == LandmarkGroup[k]
	}
}

func tightBox(labels []uint8, size int) image.Rectangle {
	x0, y0, x1, y1 := size, size, -1, -1
	for j := range size {
		row := labels[j*size : (j+1)*size]
		for i, v := range row {
			if v != 0 {
				x0, x1 = min(x0, i), max(x1, i)
				y0, y1 = min(y0, j), max(y1, j)
			}
		}
	}
	if x1 < 0 {
		return image.Rectangle{}
	}
	return image.Rect(x0, y0, x1+1, y1+1)
}

// randomShape is a distractor or occluder: a blob, a polygon, a stick or an ellipse.
func randomShape(rng *rand.Rand, c vec, r float64) shape {
	switch rng.IntN(4) {
	case 0:
		n := 2 + rng.IntN(3)
		amp, freq, phase := make([]float64, n), make([]float64, n), make([]float64, n)
		for k := range n {
			amp[k], freq[k], phase[k] = u(rng, 0.05, 0.18), float64(2+rng.IntN(5)), u(rng, 0, 2*math.Pi)
		}
		return newBlob(c, r, r*u(rng, 0.6, 1.2), amp, freq, phase)
	case 1:
		n := 3 + rng.IntN(4)
		pts := make([]vec, n)
		a0 := u(rng, 0, 2*math.Pi)
		for k := range pts {
			pts[k] = c.add(polar(a0 + float64(k)*2*math.Pi/float64(n) + u(rng, -0.3, 0.3)).scale(r * u(rng, 0.6, 1.2)))
		}
		return newPolygon(pts...)
	case 2:
		d := polar(u(rng, 0, 2*math.Pi)).scale(r * u(rng, 0.8, 1.6))
		w := r * u(rng, 0.1, 0.3)
		return newCapsule(c.sub(d), c.add(d), w, w*u(rng, 0.5, 1.2))
	default:
		return newEllipse(c, r, r*u(rng, 0.3, 0.9), u(rng, 0, math.Pi))
	}
}

// distractorPaint often uses animal coat colours and textures so that
// distractors cannot be told from animals by colour alone.
func distractorPaint(rng *rand.Rand, cat int) *paint {
	base := randomColour(rng)
	if rng.Float64() < 0.5 {
		base = jitter(rng, coats[rng.IntN(len(coats))], 0.08)
	}
	return &paint{base: base, second: randomColour(rng), tex: texture(rng.IntN(5)), freq: u(rng, 15, 40), dir: polar(u(rng, 0, math.Pi)), seed: rng.Uint32()}
}

// render rasterises the background and the layers bottom to top. Each
// layer item tests pixel centres with its shape, and the same test decides
// both the colour and the labels, so masks agree with the drawn pixels.
func render(size int, bg *background, layers []layerItem, noiseSeed uint32) *Sample {
	n := size * size
	s := &Sample{Size: size, PartLabels: make([]uint8, n), Layers: make([]uint8, n)}
	col := make([]rgb, n)
	inv := 1 / float64(size)
	for j := range size {
		for i := range size {
			col[j*size+i] = bg.at(vec{(float64(i) + 0.5) * inv, (float64(j) + 0.5) * inv})
		}
	}
	toImage := affine{}
	for _, li := range layers {
		// Pixel range: the shape's bounds carried into the image.
		toImage = li.toObj.inverse()
		bb := li.shp.bounds().through(toImage)
		i0, i1 := max(0, int(math.Floor(bb.lo.x*float64(size)))), min(size-1, int(math.Ceil(bb.hi.x*float64(size))))
		j0, j1 := max(0, int(math.Floor(bb.lo.y*float64(size)))), min(size-1, int(math.Ceil(bb.hi.y*float64(size))))
		t := li.toObj
		for j := j0; j <= j1; j++ {
			y := (float64(j) + 0.5) * inv
			for i := i0; i <= i1; i++ {
				x := (float64(i) + 0.5) * inv
				p := vec{t.m00*x + t.m01*y + t.tx, t.m10*x + t.m11*y + t.ty}
				if !li.shp.contains(p) {
					continue
				}
				k := j*size + i
				col[k] = li.pt.at(p)
				s.PartLabels[k] = uint8(li.part)
				s.Layers[k] = uint8(li.layer)
			}
		}
	}
	s.Image = image.NewRGBA(image.Rect(0, 0, size, size))
	s.Groups = make([]uint8, n)
	for k, c := range col {
		// Small sensor noise, hashed from the pixel so it is deterministic.
		e := (hashUnit(noiseSeed, int32(k), 0) - 0.5) * 0.04
		s.Image.Pix[4*k] = to8(c.r + e)
		s.Image.Pix[4*k+1] = to8(c.g + e)
		s.Image.Pix[4*k+2] = to8(c.b + e)
		s.Image.Pix[4*k+3] = 255
		s.Groups[k] = uint8(PartGroup[s.PartLabels[k]])
	}
	return s
}

func to8(v float64) uint8 { return uint8(clamp01(v)*255 + 0.5) }
