package authorscode

import (
	"testing"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt/adapttest"
)

func TestPlugin(t *testing.T) {
	adapttest.CheckLoss(t, Plugin(), adapttest.Variant[Params]{Name: "authors-code", Defaults: Defaults, Parse: Parse, Custom: `{"class_density": [0.2, 0.3, 0.5]}`})
}
