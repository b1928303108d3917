package synth

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/icnnlab/icnnlab/internal/atomicfile"
)

// Annotation is one image's entry in annotations.json.
type Annotation struct {
	File         string     `json:"file"`
	Mask         string     `json:"mask"`   // colourised fine parts (PartColours)
	Labels       string     `json:"labels"` // grey PNG, value = fine part id
	Index        int        `json:"index"`
	Category     int        `json:"category"`
	CategoryName string     `json:"category_name"`
	Box          [4]int     `json:"box"` // x0, y0, x1, y1 (exclusive)
	Flipped      bool       `json:"flipped"`
	Landmarks    []Landmark `json:"landmarks"`
	Parts        []string   `json:"parts"`  // fine parts with visible pixels
	Groups       []string   `json:"groups"` // part groups with visible pixels
}

// AnnotationFile is the layout of annotations.json.
type AnnotationFile struct {
	Version    int               `json:"generator_version"`
	Config     Config            `json:"config"`
	Categories []string          `json:"categories"`
	Parts      []string          `json:"parts"`       // fine part names by id
	Groups     []string          `json:"groups"`      // group names by id
	PartGroup  map[string]string `json:"part_groups"` // fine part → group
	Landmarks  []string          `json:"landmarks"`
	Images     []Annotation      `json:"images"`
}

// WriteDataset writes samples 0..n-1 of cfg to dir: images/NNNNNN.png,
// masks/NNNNNN.png (colourised parts), labels/NNNNNN.png (part ids),
// annotations.json and annotations.csv.
func WriteDataset(dir string, cfg Config, n int) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, sub := range []string{"images", "masks", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("write dataset: %w", err)
		}
	}
	file := AnnotationFile{Version: GeneratorVersion, Config: cfg, Categories: CategoryNames[:cfg.Categories],
		Parts: PartNames[:], Groups: GroupNames[:], PartGroup: map[string]string{}, Landmarks: LandmarkNames}
	for p := 1; p < NumParts; p++ {
		file.PartGroup[PartNames[p]] = GroupNames[PartGroup[p]]
	}
	for i := range n {
		s := Generate(cfg, i)
		name := fmt.Sprintf("%06d.png", i)
		a := Annotation{
			File: filepath.Join("images", name), Mask: filepath.Join("masks", name), Labels: filepath.Join("labels", name),
			Index: i, Category: s.Category, CategoryName: s.CategoryName, Flipped: s.Flipped,
			Box: [4]int{s.Box.Min.X, s.Box.Min.Y, s.Box.Max.X, s.Box.Max.Y}, Landmarks: s.Landmarks,
		}
		parts, groups := s.PartPixels(), s.GroupPixels()
		for p := 1; p < NumParts; p++ {
			if parts[p] > 0 {
				a.Parts = append(a.Parts, PartNames[p])
			}
		}
		for g := 1; g < NumGroups; g++ {
			if groups[g] > 0 {
				a.Groups = append(a.Groups, GroupNames[g])
			}
		}
		labels := image.NewGray(image.Rect(0, 0, s.Size, s.Size))
		copy(labels.Pix, s.PartLabels)
		for path, img := range map[string]image.Image{a.File: s.Image, a.Mask: PartMaskImage(s), a.Labels: labels} {
			if err := writePNG(filepath.Join(dir, path), img); err != nil {
				return err
			}
		}
		file.Images = append(file.Images, a)
	}
	js, err := json.MarshalIndent(file, "", " ")
	if err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "annotations.json"), js); err != nil {
		return fmt.Errorf("write dataset: %w", err)
	}
	return writeCSV(filepath.Join(dir, "annotations.csv"), file.Images)
}

func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// writeCSV writes one row per image: files, category, box, then x, y and
// visibility (0/1) of each landmark.
func writeCSV(path string, rows []Annotation) error {
	return atomicfile.Write(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		header := []string{"file", "mask", "labels", "index", "category", "category_name", "x0", "y0", "x1", "y1"}
		for _, name := range LandmarkNames {
			header = append(header, name+"_x", name+"_y", name+"_visible")
		}
		_ = w.Write(header)
		for _, a := range rows {
			rec := []string{a.File, a.Mask, a.Labels, strconv.Itoa(a.Index), strconv.Itoa(a.Category), a.CategoryName,
				strconv.Itoa(a.Box[0]), strconv.Itoa(a.Box[1]), strconv.Itoa(a.Box[2]), strconv.Itoa(a.Box[3])}
			for _, lm := range a.Landmarks {
				v := "0"
				if lm.Visible {
					v = "1"
				}
				rec = append(rec, strconv.FormatFloat(lm.X, 'f', 2, 64), strconv.FormatFloat(lm.Y, 'f', 2, 64), v)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		return w.Error()
	})
}
