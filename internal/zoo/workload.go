package zoo

import (
	"fmt"
	"slices"
	"strings"
)

// The benchmark workloads of ARCHITECTURE.md.
const (
	WorkloadSmall64  = "small64"
	WorkloadVGGM112  = "vggm-112"
	WorkloadVGG16224 = "vgg16-224"
)

// WorkloadNames lists the benchmark workloads.
func WorkloadNames() []string {
	return []string{WorkloadSmall64, WorkloadVGGM112, WorkloadVGG16224}
}

// Small64Spec is the small64 workload's spec: 64 px, published widths
// (32/64/128/128, FC 256), one logistic output, no dropout.
func Small64Spec(batch int) Spec {
	return Spec{Arch: ArchSmall64, InputSize: 64, Width: 1, Classes: 1, Loss: LossLogistic, Batch: batch}
}

// VGGM112Spec is the vggm-112 workload's spec: the network that the
// default reproduction scale fine-tunes (reproductions/scales.yaml), VGG-M
// at width 0.125 on 112 px images with pool2 dropped so that conv5 and the
// inserted conv are 12×12, one logistic output, no dropout. A test in
// internal/reproduce keeps the two equal.
func VGGM112Spec(batch int) Spec {
	return Spec{Arch: ArchVGGM, InputSize: 112, Width: 0.125, Classes: 1, Loss: LossLogistic, Batch: batch, MinTopMap: 12}
}

// VGG16At224Spec is the vgg16-224 workload's spec: full-width VGG-16 at
// 224 px, FC 4096-4096-1, one logistic output, dropout 0.5 as in the paper.
func VGG16At224Spec(batch int) Spec {
	return Spec{Arch: ArchVGG16, InputSize: 224, Width: 1, Classes: 1, Loss: LossLogistic, Dropout: 0.5, Batch: batch}
}

// Small64 builds the small64 workload. When interpretable, its top
// conv4 (128→128 on the 8×8 map) is the one masked layer, exactly as
// ARCHITECTURE.md describes it: no further conv is inserted (hooks.TopOnly
// is forced). hooks.Interpretable is set from interpretable.
func Small64(batch int, interpretable bool, hooks Hooks) (*Model, error) {
	hooks.Interpretable, hooks.TopOnly = interpretable, true
	return Build(Small64Spec(batch), hooks)
}

// VGGM112 builds the vggm-112 workload. When interpretable it uses the
// paper's placement, as the default reproduction does: conv5 (12×12×64) is
// masked and the masked conv 64→64 is inserted above it.
func VGGM112(batch int, interpretable bool, hooks Hooks) (*Model, error) {
	hooks.Interpretable = interpretable
	return Build(VGGM112Spec(batch), hooks)
}

// VGG16At224 builds the vgg16-224 workload. When interpretable it uses the
// paper's placement: relu5_3 (14×14×512) is masked and the new masked conv
// 512→512 is inserted before pool5.
func VGG16At224(batch int, interpretable bool, hooks Hooks) (*Model, error) {
	hooks.Interpretable = interpretable
	return Build(VGG16At224Spec(batch), hooks)
}

// Workload builds a benchmark workload by name.
func Workload(name string, batch int, interpretable bool, hooks Hooks) (*Model, error) {
	switch name {
	case WorkloadSmall64:
		return Small64(batch, interpretable, hooks)
	case WorkloadVGGM112:
		return VGGM112(batch, interpretable, hooks)
	case WorkloadVGG16224:
		return VGG16At224(batch, interpretable, hooks)
	}
	names := WorkloadNames()
	slices.Sort(names)
	return nil, fmt.Errorf("workload %q: not one of %s", name, strings.Join(names, ", "))
}
