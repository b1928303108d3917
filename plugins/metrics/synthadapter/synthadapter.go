// Package synthadapter turns samples of the synthetic part world
// (internal/data/synth) into the metrics' annotation set, so the metrics
// can be run, and tested, on data with exact ground truth.
package synthadapter

import (
	"github.com/icnnlab/icnnlab/internal/data/synth"
	"github.com/icnnlab/icnnlab/plugins/metrics/annotations"
)

// FromSamples annotates samples in order. Categories are all of
// synth.CategoryNames (categories without images are simply never
// chosen), groups are synth's part groups with id 0 named "background",
// landmarks are synth's six landmarks with their visibility.
func FromSamples(samples []*synth.Sample) *annotations.Set {
	set := &annotations.Set{
		Categories: append([]string(nil), synth.CategoryNames...),
		Groups:     append([]string{"background"}, synth.GroupNames[1:]...),
		Landmarks:  append([]string(nil), synth.LandmarkNames...),
		Images:     make([]annotations.Image, len(samples)),
	}
	for n, s := range samples {
		im := annotations.Image{
			Width: s.Size, Height: s.Size, Category: s.Category,
			GroupMask: append([]uint8(nil), s.Groups...),
		}
		for _, l := range s.Landmarks {
			im.Landmarks = append(im.Landmarks, annotations.Landmark{Name: l.Name, X: l.X, Y: l.Y, Visible: l.Visible})
		}
		set.Images[n] = im
	}
	return set
}
