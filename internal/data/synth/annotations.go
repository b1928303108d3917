package synth

import "github.com/icnnlab/icnnlab/sdk/parts"

// Annotations is the ground truth of samples, in order, as the metrics and
// visualizers read it. Categories are all of CategoryNames (categories
// without images are simply never chosen), groups are the part groups with
// id 0 named "background", landmarks are the six landmarks with their
// visibility.
func Annotations(samples []*Sample) *parts.Set {
	set := &parts.Set{
		Categories: append([]string(nil), CategoryNames...),
		Groups:     append([]string{"background"}, GroupNames[1:]...),
		Landmarks:  append([]string(nil), LandmarkNames...),
		Images:     make([]parts.Image, len(samples)),
	}
	for n, s := range samples {
		im := parts.Image{
			Width: s.Size, Height: s.Size, Category: s.Category,
			GroupMask: append([]uint8(nil), s.Groups...),
		}
		for _, l := range s.Landmarks {
			im.Landmarks = append(im.Landmarks, parts.Landmark{Name: l.Name, X: l.X, Y: l.Y, Visible: l.Visible})
		}
		set.Images[n] = im
	}
	return set
}
