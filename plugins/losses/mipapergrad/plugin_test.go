package mipapergrad

import (
	"testing"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt/adapttest"
)

func TestPlugin(t *testing.T) {
	adapttest.CheckLoss(t, Plugin(), adapttest.Variant[Params]{Name: "mi-paper-grad", Defaults: Defaults, Parse: Parse, Custom: `{"beta": 2}`})
}
