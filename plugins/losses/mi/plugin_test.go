package mi

import (
	"testing"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt/adapttest"
)

func TestPlugin(t *testing.T) {
	adapttest.CheckLoss(t, Plugin(), adapttest.Variant[Params]{Name: "mi", Defaults: Defaults, Parse: Parse, Custom: `{"beta": 2}`})
}
