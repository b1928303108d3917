// Package synth is icnnlab's embedded default dataset: a procedurally drawn
// "part world" of animal-like figures with exact per-pixel part masks,
// landmarks and boxes. The paper's metrics need part segmentations and
// landmarks (Pascal-VOC-Part style) that cannot be downloaded here, so every
// experiment runs on this generator. See docs/synthetic-world.md.
package synth

// CategoryNames are the six animal categories of the paper's VOC-Part
// experiments, in the order used for labels. A config with Categories = k
// uses the first k of them.
var CategoryNames = []string{"bird", "cat", "cow", "dog", "horse", "sheep"}

// Category indices into CategoryNames.
const (
	Bird = iota
	Cat
	Cow
	Dog
	Horse
	Sheep
)

// Part is a fine part id as stored in Sample.PartLabels; 0 is "no part"
// (background, distractor or occluder).
type Part uint8

// The fine parts. Every category uses a subset (see CategoryParts).
const (
	PartNone Part = iota
	PartHead
	PartEye
	PartEar
	PartMuzzle
	PartBeak
	PartHorn
	PartNeck
	PartMane
	PartTorso
	PartWing
	PartFrontLeg
	PartBackLeg
	PartTail
	numParts
)

// NumParts is the number of fine part ids including PartNone.
const NumParts = int(numParts)

// PartNames names the fine parts by id.
var PartNames = [NumParts]string{
	"none", "head", "eye", "ear", "muzzle", "beak", "horn",
	"neck", "mane", "torso", "wing", "front_leg", "back_leg", "tail",
}

func (p Part) String() string {
	if int(p) < NumParts {
		return PartNames[p]
	}
	return "part?"
}

// Group is a merged part group as stored in Sample.Groups, in the spirit of
// the paper's merged Pascal-VOC-Part labels (e.g. bird: head, torso, legs, tail).
type Group uint8

// The part groups; 0 is "no part".
const (
	GroupNone Group = iota
	GroupHead
	GroupNeck
	GroupTorso
	GroupLegs
	GroupTail
	numGroups
)

// NumGroups is the number of group ids including GroupNone.
const NumGroups = int(numGroups)

// GroupNames names the part groups by id.
var GroupNames = [NumGroups]string{"none", "head", "neck", "torso", "legs", "tail"}

func (g Group) String() string {
	if int(g) < NumGroups {
		return GroupNames[g]
	}
	return "group?"
}

// PartGroup maps each fine part to its group: the head group holds everything
// on the head (eyes, ears, muzzle, beak, horns), the neck group the mane, the
// torso group the wings, and both leg kinds form the legs group.
var PartGroup = [NumParts]Group{
	PartNone:     GroupNone,
	PartHead:     GroupHead,
	PartEye:      GroupHead,
	PartEar:      GroupHead,
	PartMuzzle:   GroupHead,
	PartBeak:     GroupHead,
	PartHorn:     GroupHead,
	PartNeck:     GroupNeck,
	PartMane:     GroupNeck,
	PartTorso:    GroupTorso,
	PartWing:     GroupTorso,
	PartFrontLeg: GroupLegs,
	PartBackLeg:  GroupLegs,
	PartTail:     GroupTail,
}

// CategoryParts lists the fine parts every figure of a category has (some
// may still be hidden in a given image by pose or occlusion). Horns are
// optional for sheep and therefore not listed for them.
var CategoryParts = [][]Part{
	Bird:  {PartHead, PartEye, PartBeak, PartNeck, PartTorso, PartWing, PartFrontLeg, PartBackLeg, PartTail},
	Cat:   {PartHead, PartEye, PartEar, PartMuzzle, PartNeck, PartTorso, PartFrontLeg, PartBackLeg, PartTail},
	Cow:   {PartHead, PartEye, PartEar, PartMuzzle, PartHorn, PartNeck, PartTorso, PartFrontLeg, PartBackLeg, PartTail},
	Dog:   {PartHead, PartEye, PartEar, PartMuzzle, PartNeck, PartTorso, PartFrontLeg, PartBackLeg, PartTail},
	Horse: {PartHead, PartEye, PartEar, PartMuzzle, PartNeck, PartMane, PartTorso, PartFrontLeg, PartBackLeg, PartTail},
	Sheep: {PartHead, PartEye, PartEar, PartMuzzle, PartNeck, PartTorso, PartFrontLeg, PartBackLeg, PartTail},
}

// LandmarkNames are the landmarks every sample carries, in order. Each lies
// on one part group (LandmarkGroup). For birds "front_legs" is the near leg
// and "back_legs" the far one.
var LandmarkNames = []string{"head", "neck", "torso", "front_legs", "back_legs", "tail"}

// Landmark indices into LandmarkNames and Sample.Landmarks.
const (
	LandmarkHead = iota
	LandmarkNeck
	LandmarkTorso
	LandmarkFrontLegs
	LandmarkBackLegs
	LandmarkTail
	numLandmarks
)

// LandmarkGroup is the part group each landmark lies on when visible.
var LandmarkGroup = [numLandmarks]Group{GroupHead, GroupNeck, GroupTorso, GroupLegs, GroupLegs, GroupTail}

// Layer says what drew a pixel; it separates "background" from "hidden by
// the occluder" and "distractor", which the part labels (all 0) cannot.
type Layer uint8

// The layers, bottom to top.
const (
	LayerBackground Layer = iota
	LayerDistractor
	LayerObject
	LayerOccluder
)
