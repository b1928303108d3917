package euclidean

import (
	"testing"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt/adapttest"
)

func TestPlugin(t *testing.T) {
	adapttest.CheckMask(t, Plugin(), adapttest.Variant[Params]{Name: "euclidean", Defaults: Defaults, Parse: Parse, Custom: `{"beta": 2}`})
}
