package partset

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"
)

func fuzzSeedImages(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	var p, j, g bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		f.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		f.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 2, 2))
	gray.SetGray(1, 1, color.Gray{200})
	if err := png.Encode(&g, gray); err != nil {
		f.Fatal(err)
	}
	for _, b := range [][]byte{p.Bytes(), j.Bytes(), g.Bytes(), nil, []byte("\x89PNG\r\n\x1a\n")} {
		f.Add(b)
	}
}

// A loader's image bytes are outside input: whatever they are, decoding
// and cropping either fails with an error or yields a finite, normalised
// input of the requested size.
func FuzzDecodeImage(f *testing.F) {
	fuzzSeedImages(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeImage(data)
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > MaxImagePixels {
			t.Fatalf("decoded a %v image past the checks", b)
		}
		const size = 8
		out := CropCHW(img, RegionOf(b), size)
		if len(out) != 3*size*size {
			t.Fatalf("crop has %d values, want %d", len(out), 3*size*size)
		}
		for i, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("value %d of the crop is %v", i, v)
			}
		}
	})
}

func TestDecodeImageRefusesHugeClaims(t *testing.T) {
	// A valid PNG header claiming 100000×100000 pixels, and nothing more.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	ihdr := b[16:24] // width, height (big-endian) after the signature and chunk header
	for i, v := range []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0} {
		ihdr[i] = v
	}
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29])) // type + data
	_, err := DecodeImage(b)
	if err == nil {
		t.Fatal("a PNG claiming 10^10 pixels decoded")
	}
	if want := "100000×100000 pixels: more than"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("err = %v, want it to say %q", err, want)
	}
}
