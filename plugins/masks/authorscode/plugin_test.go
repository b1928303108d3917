package authorscode

import (
	"testing"

	"github.com/icnnlab/icnnlab/plugins/internal/adapt/adapttest"
)

func TestPlugin(t *testing.T) {
	adapttest.CheckMask(t, Plugin(), adapttest.Variant[Params]{Name: "authors-code", Defaults: Defaults, Parse: Parse, Custom: `{"pull": 5000}`})
}
