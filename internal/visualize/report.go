package visualize

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
)

// Report is everything report.html shows. It holds only plain values
// (paths relative to the report, numbers, strings and ready-made SVG), so
// that a report can be rendered from fixed inputs in tests.
type Report struct {
	Title string
	Runs  []RunSection
}

// RunSection is one run's part of the report.
type RunSection struct {
	// ID is the section's anchor ("run-0"); cards are ID-filter-N.
	ID   string
	Name string
	Dir  string
	// Network says what was trained ("ordinary vgg-m, single bird, seed
	// 1"); Accuracy is its test accuracy ("" when unknown).
	Network  string
	Accuracy string
	Manifest string     // pretty JSON
	Metrics  []KeyValue // metrics.json, in file order
	Layer    LayerFacts
	Plots    []template.HTML // training curves and metric distributions
	// Coverage is the labelled filters × part-groups map (CoverageMap);
	// Heatmap the plugin's unlabelled image of it; Groups its rows.
	Coverage template.HTML
	Heatmap  string
	Groups   []string
	// TopImages is how many top images each filter's coverage counts.
	TopImages int
	Decoder   *DecoderFacts // nil when upconv did not run
	Cards     []FilterCard
	// Notes are things the reader should know (a metric that could not be
	// computed, and why).
	Notes []string
}

// KeyValue is one row of a table.
type KeyValue struct{ Key, Value string }

// LayerFacts describes the visualized layer.
type LayerFacts struct {
	Name                    string
	Channels, Height, Width int
	RFSize, RFJump          int
	RFStart                 float64
	Images, TrainImages     int
	PartInterpretability    string // the layer's mean P_f, or "n/a"
	LocationInstability     string // mean over defined filters, or "n/a"
}

// DecoderFacts summarises the upconv decoder.
type DecoderFacts struct {
	Backend     string
	Steps       int
	TrainImages int
	// FeatureSide is the layer's map side; InputSide the decoder's, onto
	// which the features are resampled when they differ.
	FeatureSide, InputSide int
	// Patches per pattern row and their side in image pixels.
	Patches, PatchSize int
	HeldOutImages      int
	MSE, Baseline      float64
	Ratio              float64
	Reconstructions    string
	MeanImage          string
}

// FilterCard is one filter's card.
type FilterCard struct {
	Filter int
	// RFImage shows its receptive fields on its top images; UpconvImage its
	// patterns (rows: top patches, reconstruction of the mean feature, of
	// the filter-only feature). Either may be empty.
	RFImage, UpconvImage string
	// BestPart is the part-interpretability argmax with its score P_f;
	// Instability its location instability ("" when unavailable).
	BestPart    string
	PartScore   string
	Instability string
	// Coverage is the receptive-field region's best part group and its
	// share of the region's pixels.
	Coverage string
	// TopCategories counts the categories of its top images ("bird 6,
	// sheep 2").
	TopCategories string
	Patterns      []int // pattern sizes
}

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f3": func(v float64) string { return fmt.Sprintf("%.4f", v) },
}).Parse(reportTemplate))

// Render writes the report as one self-contained HTML page (images are
// referenced relative to it).
func (r *Report) Render() ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, r); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return buf.Bytes(), nil
}
