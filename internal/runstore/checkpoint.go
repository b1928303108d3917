package runstore

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/atomicfile"

	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// CheckpointFile is the checkpoint's name inside a run directory.
const CheckpointFile = "checkpoint.npz"

// WriteNPZ writes named tensors as a NumPy .npz archive (a zip of .npy
// files), atomically, so `numpy.load(path)` can read a checkpoint.
func WriteNPZ(path string, tensors map[string]*tensor.Tensor) error {
	return atomicfile.Write(path, func(w io.Writer) error { return encodeNPZ(w, tensors) })
}

// encodeNPZ writes tensors as a .npz archive in name order.
func encodeNPZ(w io.Writer, tensors map[string]*tensor.Tensor) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names) // stable archive bytes for equal content
	{
		zw := zip.NewWriter(w)
		for _, name := range names {
			hdr := &zip.FileHeader{Name: name + ".npy", Method: zip.Store}
			w, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			if err := tensor.WriteNPY(w, tensors[name]); err != nil {
				return fmt.Errorf("tensor %q: %w", name, err)
			}
		}
		return zw.Close()
	}
}

// ReadNPZ reads every array of a .npz archive.
func ReadNPZ(path string) (map[string]*tensor.Tensor, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer zr.Close()
	out := map[string]*tensor.Tensor{}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, fmt.Errorf("read %s: entry %q is not a .npy array", path, f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("read %s: entry %q: %w", path, f.Name, err)
		}
		t, err := tensor.ReadNPY(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: entry %q: %w", path, f.Name, err)
		}
		out[strings.TrimSuffix(f.Name, ".npy")] = t
	}
	return out, nil
}

// SaveCheckpoint publishes the run's checkpoint atomically, with its
// checksum in the manifest.
func (r *Run) SaveCheckpoint(tensors map[string]*tensor.Tensor) error {
	return r.publish(CheckpointFile, func(w io.Writer) error { return encodeNPZ(w, tensors) })
}

// LoadCheckpoint verifies the run's checkpoint against the manifest and
// reads it, or returns ErrNoCheckpoint. A checkpoint that does not match
// its checksum (or does not parse) is a *CorruptError.
func (r *Run) LoadCheckpoint() (map[string]*tensor.Tensor, error) {
	p := r.Path(CheckpointFile)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoCheckpoint
	}
	if err := r.Verify(CheckpointFile); err != nil {
		return nil, err
	}
	t, err := ReadNPZ(p)
	if err != nil && r.checksummed() {
		return nil, &CorruptError{Path: p, Kind: "checkpoint", Detail: err.Error()}
	}
	return t, err
}

// History appends rows to history.csv; the header is written once.
type History struct {
	path    string
	columns []string
}

// History opens the run's history.csv with the given columns.
func (r *Run) History(columns ...string) *History {
	return &History{path: r.Path("history.csv"), columns: columns}
}

// Truncate drops rows whose first column (the step) is greater than step,
// so that a resumed run does not repeat rows written after its checkpoint.
// A missing file is created with its header alone, so that a run without
// epochs (an untrained control) still has a history, an empty one.
func (h *History) Truncate(step int64) error {
	rows, err := h.Read()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	keep := rows[:0]
	for _, row := range rows {
		s, err := strconv.ParseInt(row[h.columns[0]], 10, 64)
		if err == nil && s <= step {
			keep = append(keep, row)
		}
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(h.columns)
	for _, row := range keep {
		rec := make([]string, len(h.columns))
		for i, c := range h.columns {
			rec[i] = row[c]
		}
		w.Write(rec)
	}
	w.Flush()
	return atomicfile.WriteFile(h.path, []byte(b.String()))
}

// Append writes one row; values are formatted with %v.
func (h *History) Append(values ...any) error {
	if len(values) != len(h.columns) {
		return fmt.Errorf("history row has %d values for %d columns %v", len(values), len(h.columns), h.columns)
	}
	_, statErr := os.Stat(h.path)
	f, err := os.OpenFile(h.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("history %s: %w", h.path, err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if errors.Is(statErr, os.ErrNotExist) {
		w.Write(h.columns)
	}
	rec := make([]string, len(values))
	for i, v := range values {
		switch x := v.(type) {
		case float64:
			rec[i] = strconv.FormatFloat(x, 'g', 8, 64)
		case float32:
			rec[i] = strconv.FormatFloat(float64(x), 'g', 8, 32)
		default:
			rec[i] = fmt.Sprint(v)
		}
	}
	w.Write(rec)
	w.Flush()
	return w.Error()
}

// Read returns every row as column → value.
func (h *History) Read() ([]map[string]string, error) {
	data, err := os.ReadFile(h.path)
	if err != nil {
		return nil, err
	}
	// Rows are appended whole lines at a time; a process killed mid-append
	// leaves a last line without its newline, which is not a row.
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
	}
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", h.path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("history %s: %w", h.path, err)
		}
		row := map[string]string{}
		for i, c := range header {
			if i < len(rec) {
				row[c] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
