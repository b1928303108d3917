package tensor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The NumPy .npy format (numpy.lib.format): a 6-byte magic, a version,
// a little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0), a Python
// dict literal padded with spaces and a newline so the data starts on a
// 64-byte boundary, then the raw array in C order.

var npyMagic = []byte("\x93NUMPY")

// maxNPYHeader bounds the header we are willing to read (numpy itself
// refuses headers over 10 KB by default).
const maxNPYHeader = 1 << 20

// descriptor strings, as numpy writes them.
var dtypeDescr = map[DType]string{
	Float32: "<f4", Float64: "<f8", Int32: "<i4", Int64: "<i8", Uint8: "|u1", Bool: "|b1",
}

func descrDType(d string) (DType, error) {
	switch d {
	case "<f4":
		return Float32, nil
	case "<f8":
		return Float64, nil
	case "<i4":
		return Int32, nil
	case "<i8":
		return Int64, nil
	// One-byte types have no byte order: numpy writes '|', and '<', '>'
	// and '=' describe the same bytes.
	case "|u1", "<u1", ">u1", "=u1", "u1", "|B", "B":
		return Uint8, nil
	case "|b1", "<b1", ">b1", "=b1", "b1", "?", "|?":
		return Bool, nil
	}
	if len(d) > 1 && d[0] == '>' {
		return Invalid, fmt.Errorf("dtype %q is big-endian; only little-endian arrays are supported (use arr.astype(arr.dtype.newbyteorder('<')))", d)
	}
	return Invalid, fmt.Errorf("dtype %q is not supported (want <f4, <f8, <i4, <i8, |u1 or |b1)", d)
}

// ReadNPY reads one .npy array from r, consuming exactly its bytes (so
// several arrays written back to back can be read in turn).
func ReadNPY(r io.Reader) (*Tensor, error) {
	remaining := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		remaining = int64(l.Len())
	}
	return readNPY(r, remaining)
}

// readNPY reads one array; remaining is the number of bytes left in r, or
// -1 when unknown. When it is known, a shape that promises more data than
// r holds is rejected before anything is allocated for it.
func readNPY(r io.Reader, remaining int64) (*Tensor, error) {
	pre := make([]byte, 8)
	if n, err := io.ReadFull(r, pre); err != nil {
		return nil, fmt.Errorf("npy: file is %d bytes, too short for the 8-byte preamble: %w", n, err)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return nil, fmt.Errorf("npy: bad magic %q (not a .npy file)", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen int
	lenBytes := 0
	switch {
	case major == 1 && minor == 0:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: truncated header length: %w", err)
		}
		hlen, lenBytes = int(binary.LittleEndian.Uint16(b[:])), 2
	case (major == 2 || major == 3) && minor == 0:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: truncated header length: %w", err)
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxNPYHeader {
			return nil, fmt.Errorf("npy: header length %d exceeds the %d-byte limit", n, maxNPYHeader)
		}
		hlen, lenBytes = int(n), 4
	default:
		return nil, fmt.Errorf("npy: format version %d.%d is not supported (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if remaining >= 0 && int64(hlen) > remaining-int64(8+lenBytes) {
		return nil, fmt.Errorf("npy: header truncated: %d of %d bytes", max(remaining-int64(8+lenBytes), 0), hlen)
	}
	header := make([]byte, hlen)
	if n, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("npy: header truncated: %d of %d bytes: %w", n, hlen, err)
	}
	descr, fortran, shape, err := parseNPYHeader(string(header))
	if err != nil {
		return nil, fmt.Errorf("npy: header %q: %w", strings.TrimSpace(string(header)), err)
	}
	if fortran {
		return nil, errors.New("npy: fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(arr))")
	}
	dt, err := descrDType(descr)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	// Count bytes in int64 with an overflow check on every step, so a lying
	// shape can neither wrap around nor ask for more than an int can index.
	want := int64(dt.Size())
	for _, d := range shape {
		if d != 0 && want > math.MaxInt64/int64(d) {
			return nil, fmt.Errorf("npy: shape %v of %v needs more than %d bytes", shape, dt, int64(math.MaxInt64))
		}
		want *= int64(d)
	}
	if want > math.MaxInt/2 {
		return nil, fmt.Errorf("npy: shape %v of %v needs %d bytes, too many to hold in memory", shape, dt, want)
	}
	if remaining >= 0 {
		if left := remaining - int64(8+lenBytes+hlen); left < want {
			return nil, fmt.Errorf("npy: data truncated: shape %v of %v needs %d bytes, got %d", shape, dt, want, left)
		}
	}
	// Read through a growing buffer rather than allocating want bytes up
	// front, so that when the size of r is unknown, memory follows the data
	// that is actually there.
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, r, want)
	if err != nil {
		return nil, fmt.Errorf("npy: data truncated: shape %v of %v needs %d bytes, got %d", shape, dt, want, got)
	}
	return decodeNPYData(dt, shape, buf.Bytes())
}

func decodeNPYData(dt DType, shape Shape, raw []byte) (*Tensor, error) {
	t := Zeros(dt, shape...)
	le := binary.LittleEndian
	switch dt {
	case Float32:
		for i := range t.f32 {
			t.f32[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case Float64:
		for i := range t.f64 {
			t.f64[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
	case Int32:
		for i := range t.i32 {
			t.i32[i] = int32(le.Uint32(raw[4*i:]))
		}
	case Int64:
		for i := range t.i64 {
			t.i64[i] = int64(le.Uint64(raw[8*i:]))
		}
	case Uint8:
		copy(t.u8, raw)
	case Bool:
		for i := range t.b {
			switch raw[i] {
			case 0:
			case 1:
				t.b[i] = true
			default:
				return nil, fmt.Errorf("npy: bool element %d has byte value %d (want 0 or 1)", i, raw[i])
			}
		}
	}
	return t, nil
}

// parseNPYHeader parses the header's Python dict literal, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
func parseNPYHeader(h string) (descr string, fortran bool, shape Shape, err error) {
	p := &pyParser{s: strings.TrimRight(h, " \n\x00")}
	p.skipSpace()
	if !p.eat('{') {
		return "", false, nil, errors.New("header is not a dict")
	}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return "", false, nil, fmt.Errorf("dict key: %w", err)
		}
		p.skipSpace()
		if !p.eat(':') {
			return "", false, nil, fmt.Errorf("missing ':' after key %q", key)
		}
		p.skipSpace()
		switch key {
		case "descr":
			if descr, err = p.str(); err != nil {
				return "", false, nil, fmt.Errorf("descr: %w (structured dtypes are not supported)", err)
			}
		case "fortran_order":
			if fortran, err = p.boolean(); err != nil {
				return "", false, nil, fmt.Errorf("fortran_order: %w", err)
			}
		case "shape":
			if shape, err = p.tuple(); err != nil {
				return "", false, nil, fmt.Errorf("shape: %w", err)
			}
		default:
			return "", false, nil, fmt.Errorf("unexpected key %q", key)
		}
		if seen[key] {
			return "", false, nil, fmt.Errorf("key %q repeated", key)
		}
		seen[key] = true
		p.skipSpace()
		if p.eat(',') {
			continue
		}
		p.skipSpace()
		if !p.eat('}') {
			return "", false, nil, fmt.Errorf("expected ',' or '}' at offset %d", p.i)
		}
		break
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return "", false, nil, fmt.Errorf("key %q is missing", k)
		}
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return "", false, nil, fmt.Errorf("trailing characters %q after the dict", p.s[p.i:])
	}
	return descr, fortran, shape, nil
}

type pyParser struct {
	s string
	i int
}

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *pyParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) str() (string, error) {
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("expected a quoted string at offset %d", p.i)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *pyParser) boolean() (bool, error) {
	switch {
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	}
	return false, fmt.Errorf("expected True or False at offset %d", p.i)
}

func (p *pyParser) tuple() (Shape, error) {
	if !p.eat('(') {
		return nil, fmt.Errorf("expected '(' at offset %d", p.i)
	}
	shape := Shape{}
	for {
		p.skipSpace()
		if p.eat(')') {
			return shape, nil
		}
		if p.i < len(p.s) && p.s[p.i] == '-' {
			return nil, fmt.Errorf("dimension at offset %d is negative", p.i)
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, fmt.Errorf("expected a dimension at offset %d", p.i)
		}
		if p.i < len(p.s) && p.s[p.i] == 'L' { // Python 2 longs
			p.i++
		}
		d, err := strconv.Atoi(strings.TrimSuffix(p.s[start:p.i], "L"))
		if err != nil || d > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %s is out of range (at most %d)", p.s[start:p.i], math.MaxInt32)
		}
		shape = append(shape, d)
		p.skipSpace()
		if p.eat(',') {
			continue
		}
		p.skipSpace()
		if !p.eat(')') {
			return nil, fmt.Errorf("expected ',' or ')' at offset %d", p.i)
		}
		return shape, nil
	}
}

// npyHeaderDict renders the header dict exactly as numpy's
// _write_array_header does, including the spaces it appends so that the
// first dimension can later grow to 21 digits in place.
func npyHeaderDict(t *Tensor) string {
	var shape string
	switch len(t.shape) {
	case 0:
		shape = "()"
	case 1:
		shape = fmt.Sprintf("(%d,)", t.shape[0])
	default:
		parts := make([]string, len(t.shape))
		for i, d := range t.shape {
			parts[i] = strconv.Itoa(d)
		}
		shape = "(" + strings.Join(parts, ", ") + ")"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dtypeDescr[t.dtype], shape)
	if len(t.shape) > 0 {
		const growthAxisMaxDigits = 21
		dict += strings.Repeat(" ", max(growthAxisMaxDigits-len(strconv.Itoa(t.shape[0])), 0))
	}
	return dict
}

// npyPreamble is magic, version, header length and the padded header, laid
// out as numpy's _wrap_header does: 1 to 64 spaces and a newline so that
// the data starts at a multiple of 64 bytes (a full 64 when already aligned).
func npyPreamble(dict string) []byte {
	version, lenBytes := byte(1), 2
	pad := func(lb int) int { return 64 - (len(npyMagic)+2+lb+len(dict)+1)%64 }
	hlen := len(dict) + pad(2) + 1
	if hlen > math.MaxUint16 {
		version, lenBytes = 2, 4
		hlen = len(dict) + pad(4) + 1
	}
	var b bytes.Buffer
	b.Write(npyMagic)
	b.WriteByte(version)
	b.WriteByte(0)
	if lenBytes == 2 {
		b.Write(binary.LittleEndian.AppendUint16(nil, uint16(hlen)))
	} else {
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(hlen)))
	}
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", hlen-len(dict)-1))
	b.WriteByte('\n')
	return b.Bytes()
}

// WriteNPY writes t as a .npy array: version 1.0 unless the header needs
// 2.0, data aligned to 64 bytes, byte-identical to numpy.save.
func WriteNPY(w io.Writer, t *Tensor) error {
	if t == nil {
		return errors.New("npy: cannot write a nil tensor")
	}
	if _, ok := dtypeDescr[t.dtype]; !ok {
		return fmt.Errorf("npy: cannot write dtype %v", t.dtype)
	}
	if _, err := w.Write(npyPreamble(npyHeaderDict(t))); err != nil {
		return fmt.Errorf("npy: write header: %w", err)
	}
	raw := make([]byte, t.Len()*t.dtype.Size())
	le := binary.LittleEndian
	switch t.dtype {
	case Float32:
		for i, v := range t.f32 {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case Float64:
		for i, v := range t.f64 {
			le.PutUint64(raw[8*i:], math.Float64bits(v))
		}
	case Int32:
		for i, v := range t.i32 {
			le.PutUint32(raw[4*i:], uint32(v))
		}
	case Int64:
		for i, v := range t.i64 {
			le.PutUint64(raw[8*i:], uint64(v))
		}
	case Uint8:
		copy(raw, t.u8)
	case Bool:
		for i, v := range t.b {
			if v {
				raw[i] = 1
			}
		}
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("npy: write data: %w", err)
	}
	return nil
}

// LoadNPY reads a .npy file holding exactly one array.
func LoadNPY(path string) (*Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	remaining := int64(-1)
	if info.Mode().IsRegular() {
		remaining = info.Size()
	}
	t, err := readNPY(f, remaining)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if n, _ := io.Copy(io.Discard, f); n > 0 {
		return nil, fmt.Errorf("load %s: npy: %d unexpected bytes after the data of shape %v (a corrupt or concatenated file)", path, n, t.shape)
	}
	return t, nil
}

// SaveNPY writes a .npy file atomically (a synced temporary file renamed
// into place).
func SaveNPY(path string, t *Tensor) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = WriteNPY(bw, t); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	// Synced before the rename, so a crash cannot leave the new name
	// pointing at data still in the page cache. (The host's
	// internal/atomicfile does the same and more; the SDK may not import
	// the host.)
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
