package synth

// Channel statistics of the world's images (measured over 4096 default-config
// samples at 64 px, see TestCHWIsRoughlyNormalised); CHW subtracts the mean
// and divides by the standard deviation so inputs are roughly zero mean and
// unit scale.
var (
	ChannelMean = [3]float32{0.510, 0.492, 0.478}
	ChannelStd  = [3]float32{0.173, 0.171, 0.181}
)

// CHW returns the image as a float32 3×Size×Size slice, channel-major,
// normalised with ChannelMean and ChannelStd.
func (s *Sample) CHW() []float32 {
	return s.AppendCHW(make([]float32, 0, 3*s.Size*s.Size))
}

// AppendCHW appends the normalised 3×Size×Size image to dst (to fill batch buffers without copies).
func (s *Sample) AppendCHW(dst []float32) []float32 {
	n := s.Size * s.Size
	for c := range 3 {
		scale := 1 / (255 * ChannelStd[c])
		shift := ChannelMean[c] / ChannelStd[c]
		for k := range n {
			dst = append(dst, float32(s.Image.Pix[4*k+c])*scale-shift)
		}
	}
	return dst
}

// PartPixels counts the visible pixels of every fine part, by part id.
func (s *Sample) PartPixels() [NumParts]int {
	var n [NumParts]int
	for _, p := range s.PartLabels {
		n[p]++
	}
	return n
}

// GroupPixels counts the visible pixels of every part group, by group id.
func (s *Sample) GroupPixels() [NumGroups]int {
	var n [NumGroups]int
	for _, g := range s.Groups {
		n[g]++
	}
	return n
}

// GroupMask is the per-pixel mask of group g.
func (s *Sample) GroupMask(g Group) []bool {
	m := make([]bool, len(s.Groups))
	for k, v := range s.Groups {
		m[k] = Group(v) == g
	}
	return m
}
