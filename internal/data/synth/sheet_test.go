package synth

import (
	"image/png"
	"os"
	"strconv"
	"testing"
)

// TestWriteContactSheetForHumans writes a contact sheet to $SYNTH_SHEET (for
// looking at the world while tuning it); it is skipped otherwise.
func TestWriteContactSheetForHumans(t *testing.T) {
	path := os.Getenv("SYNTH_SHEET")
	if path == "" {
		t.Skip("set SYNTH_SHEET=/path/sheet.png to write a contact sheet")
	}
	cfg := DefaultConfig()
	if v, err := strconv.Atoi(os.Getenv("SYNTH_SIZE")); err == nil {
		cfg.Size = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("SYNTH_DIFFICULTY"), 64); err == nil {
		cfg.Difficulty, cfg.Clutter, cfg.Occlusion = v, v, v
	}
	n := 24
	if v, err := strconv.Atoi(os.Getenv("SYNTH_N")); err == nil {
		n = v
	}
	samples := make([]*Sample, n)
	for i := range samples {
		samples[i] = Generate(cfg, i)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, ContactSheet(samples, 4)); err != nil {
		t.Fatal(err)
	}
}
