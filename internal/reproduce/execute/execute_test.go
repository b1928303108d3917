package execute

import (
	"testing"

	"github.com/icnnlab/icnnlab/internal/reproduce/spec"
)

func TestHasFilterLoss(t *testing.T) {
	for _, tt := range []struct {
		variant string
		want    bool
	}{
		{"ordinary", false},
		{"interpretable", true},
		{"l1+mi", true},
		{"none+mi", true},
		{"authors-code+authors-code", true},
		{"l1+none", false},
		{"none+none", false},
	} {
		v, err := spec.ParseVariant(tt.variant)
		if err != nil {
			t.Fatal(err)
		}
		if got := hasFilterLoss(v); got != tt.want {
			t.Errorf("hasFilterLoss(%s) = %v, want %v", tt.variant, got, tt.want)
		}
	}
}
