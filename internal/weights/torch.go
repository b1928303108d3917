package weights

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/icnnlab/icnnlab/internal/weights/pickle"
)

// maxPickle bounds data.pkl: a state_dict's pickle is kilobytes (the
// tensors' bytes live in their own records).
const maxPickle = 64 << 20

// storageTypes are the torch.*Storage classes a state_dict's pickle names.
var storageTypes = map[string]elementType{
	"FloatStorage": typeF32, "DoubleStorage": typeF64, "HalfStorage": typeF16, "BFloat16Storage": typeBF16,
	"LongStorage": typeI64, "IntStorage": typeI32, "ShortStorage": typeI16, "CharStorage": typeI8,
	"ByteStorage": typeU8, "BoolStorage": typeBool,
}

// storageRef is a persistent id: a storage record of the archive.
type storageRef struct {
	key   string
	dtype elementType
	numel int64
}

func (s *storageRef) String() string { return "storage " + s.key }

// tensorRef is what _rebuild_tensor_v2 returns: a strided view of a storage.
type tensorRef struct {
	storage *storageRef
	offset  int64
	size    []int64
	stride  []int64
}

func (t *tensorRef) String() string { return "tensor" }

// callable adapts a Go function to pickle.Callable.
type callable struct {
	name string
	call func(pickle.Tuple) (any, error)
}

func (c callable) Call(args pickle.Tuple) (any, error) {
	v, err := c.call(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return v, nil
}
func (c callable) String() string { return c.name }

// torchResolver allows exactly the classes a state_dict needs.
type torchResolver struct {
	storages map[string]*storageRef
}

func (r *torchResolver) Global(module, name string) (any, error) {
	full := module + "." + name
	switch full {
	case "collections.OrderedDict":
		return callable{full, func(args pickle.Tuple) (any, error) {
			if len(args) != 0 {
				return nil, fmt.Errorf("wants no arguments, got %d", len(args))
			}
			return pickle.NewDict(), nil
		}}, nil
	case "torch._utils._rebuild_tensor_v2":
		return callable{full, rebuildTensor}, nil
	case "torch._utils._rebuild_parameter":
		return callable{full, func(args pickle.Tuple) (any, error) {
			if len(args) != 3 {
				return nil, fmt.Errorf("wants 3 arguments, got %d", len(args))
			}
			t, ok := args[0].(*tensorRef)
			if !ok {
				return nil, fmt.Errorf("data is a %s, not a tensor", pickle.TypeName(args[0]))
			}
			return t, nil
		}}, nil
	}
	if module == "torch" {
		if et, ok := storageTypes[name]; ok {
			return et, nil
		}
	}
	return nil, fmt.Errorf("class %s is not allowed: icnnlab reads state_dicts (names → tensors) only; "+
		"save one with torch.save(model.state_dict(), path)", full)
}

// PersistentLoad resolves ('storage', storage_type, key, location, numel).
func (r *torchResolver) PersistentLoad(pid any) (any, error) {
	t, ok := pid.(pickle.Tuple)
	// The legacy format adds a sixth element, view metadata, None for a whole storage.
	if !ok || (len(t) != 5 && !(len(t) == 6 && t[5] == nil)) {
		return nil, fmt.Errorf("persistent id %v is not ('storage', type, key, location, numel)", pickle.TypeName(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return nil, fmt.Errorf("persistent id kind %v is not 'storage'", t[0])
	}
	et, ok := t[1].(elementType)
	if !ok {
		return nil, fmt.Errorf("persistent id storage type is a %s, not a torch.*Storage", pickle.TypeName(t[1]))
	}
	key, ok := t[2].(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") {
		return nil, fmt.Errorf("persistent id key %v is not a record name", t[2])
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("persistent id numel %v is not a count", t[4])
	}
	if s, seen := r.storages[key]; seen {
		if s.dtype.torch != et.torch || s.numel != numel {
			return nil, fmt.Errorf("storage %s is declared twice, as %d %s and as %d %s", key, s.numel, s.dtype.torch, numel, et.torch)
		}
		return s, nil
	}
	s := &storageRef{key: key, dtype: et, numel: numel}
	r.storages[key] = s
	return s, nil
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a tuple", what, pickle.TypeName(v))
	}
	out := make([]int64, len(t))
	for i, e := range t {
		n, ok := e.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%s[%d] is %v, not a non-negative int", what, i, e)
		}
		out[i] = n
	}
	return out, nil
}

// rebuildTensor is _rebuild_tensor_v2(storage, storage_offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args pickle.Tuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("wants 6 or 7 arguments, got %d", len(args))
	}
	s, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("storage is a %s", pickle.TypeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("storage offset %v is not a non-negative int", args[1])
	}
	size, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in rank", size, stride)
	}
	if h, ok := args[5].(*pickle.Dict); !ok || h.Len() != 0 {
		return nil, fmt.Errorf("backward hooks must be an empty OrderedDict")
	}
	return &tensorRef{storage: s, offset: offset, size: size, stride: stride}, nil
}

// check verifies that the view stays inside its storage; it runs after
// unpickling so its errors can name the tensor.
func (t *tensorRef) check() error {
	s := t.storage
	numel, _, err := byteSize(t.size, 1)
	if err != nil || numel == 0 {
		return err
	}
	last := t.offset
	for i := range t.size {
		if t.stride[i] > 0 && t.size[i]-1 > (s.numel-last)/t.stride[i] {
			return fmt.Errorf("size %v stride %v offset %d reaches past the storage's %d elements", t.size, t.stride, t.offset, s.numel)
		}
		last += (t.size[i] - 1) * t.stride[i]
	}
	if last >= s.numel {
		return fmt.Errorf("size %v stride %v offset %d reaches past the storage's %d elements", t.size, t.stride, t.offset, s.numel)
	}
	if numel > s.numel {
		return fmt.Errorf("size %v has %d elements, more than its storage's %d (an expanded view with stride 0 is not supported: save a contiguous copy)", t.size, numel, s.numel)
	}
	return nil
}

// ReadTorch reads a state_dict saved by torch.save (the zip format of
// PyTorch 1.6 and later) from r, which holds size bytes.
func ReadTorch(r io.ReaderAt, size int64) (*StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a complete zip archive (truncated or damaged?): %w", err)
	}
	records := map[string]*zip.File{}
	var pkl *zip.File
	prefix := ""
	for _, f := range zr.File {
		records[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("two data.pkl records (%s, %s)", pkl.Name, f.Name)
			}
			pkl, prefix = f, path.Dir(f.Name)+"/"
		}
	}
	if pkl == nil {
		if _, ok := records["constants.pkl"]; ok {
			return nil, errors.New("this is a TorchScript archive; save a state_dict with torch.save(model.state_dict(), path)")
		}
		return nil, errors.New("no <archive>/data.pkl record: not a torch.save file")
	}
	if pkl.UncompressedSize64 > maxPickle || pkl.UncompressedSize64 > 1100*uint64(max(size, 1)) {
		return nil, fmt.Errorf("%s is %d bytes, more than a state_dict's pickle can be", pkl.Name, pkl.UncompressedSize64)
	}
	data, err := readRecord(pkl, int64(pkl.UncompressedSize64))
	if err != nil {
		return nil, err
	}
	res := &torchResolver{storages: map[string]*storageRef{}}
	v, err := pickle.Unpickle(data, res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	sd, refs, err := stateDict(v, pkl.Name)
	if err != nil {
		return nil, err
	}
	// Read each storage once, in key order, then cut the views out of it.
	storages := map[string][]byte{}
	keys := make([]string, 0, len(res.storages))
	for k := range res.storages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	owner := map[string]string{}
	for _, name := range sd.Names {
		if _, ok := owner[refs[name].storage.key]; !ok {
			owner[refs[name].storage.key] = name
		}
	}
	for _, key := range keys {
		s := res.storages[key]
		rec, ok := records[prefix+"data/"+key]
		name := owner[key]
		if !ok {
			return nil, fmt.Errorf("tensor %q: storage record %sdata/%s is missing", name, prefix, key)
		}
		_, want, err := byteSize([]int64{s.numel}, s.dtype.size)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: storage %s: %w", name, key, err)
		}
		// Deflate compresses at most ~1032:1; a record claiming more than
		// that of the whole file is lying (and must not make us allocate it).
		if want > 1100*max(size, 1) {
			return nil, fmt.Errorf("tensor %q: storage %s claims %d bytes, impossible in a %d-byte file", name, key, want, size)
		}
		if rec.UncompressedSize64 != uint64(want) {
			return nil, fmt.Errorf("tensor %q: storage record %s holds %d bytes, its %d %s elements need %d",
				name, rec.Name, rec.UncompressedSize64, s.numel, s.dtype.torch, want)
		}
		b, err := readRecord(rec, want)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		storages[key] = b
	}
	if err := fill(sd, refs, storages); err != nil {
		return nil, err
	}
	return sd, nil
}

// stateDict checks that an unpickled object is a dict of tensors and
// returns the names in order with their views.
func stateDict(v any, where string) (*StateDict, map[string]*tensorRef, error) {
	top, ok := v.(*pickle.Dict)
	if !ok {
		return nil, nil, fmt.Errorf("%s holds a %s, not a state_dict (a dict of tensors)", where, pickle.TypeName(v))
	}
	sd := NewStateDict()
	refs := map[string]*tensorRef{}
	for i, k := range top.Keys {
		name, ok := k.(string)
		if !ok {
			return nil, nil, fmt.Errorf("%s: key %d is a %s, not a tensor name", where, i, pickle.TypeName(k))
		}
		t, ok := top.Values[i].(*tensorRef)
		if !ok {
			hint := ""
			if _, nested := top.Values[i].(*pickle.Dict); nested {
				hint = fmt.Sprintf(" (a checkpoint that wraps the state_dict? save checkpoint[%q] on its own)", name)
			}
			return nil, nil, fmt.Errorf("%s: %q is a %s, not a tensor%s", where, name, pickle.TypeName(top.Values[i]), hint)
		}
		if err := t.check(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		sd.Names = append(sd.Names, name)
		refs[name] = t
	}
	if meta, ok := (*dictView)(top.Attrs).getDict("_metadata"); ok {
		if icnn, ok := meta.getDict("icnnlab"); ok {
			for i, k := range icnn.Keys {
				ks, ok1 := k.(string)
				vs, ok2 := icnn.Values[i].(string)
				if ok1 && ok2 {
					sd.Metadata[ks] = vs
				}
			}
		}
	}
	return sd, refs, nil
}

// fill cuts every tensor out of its storage's bytes.
func fill(sd *StateDict, refs map[string]*tensorRef, storages map[string][]byte) error {
	for _, name := range sd.Names {
		t := refs[name]
		b := gather(storages[t.storage.key], t)
		v, err := t.storage.dtype.decode(b, intShape(t.size))
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		sd.Tensors[name] = v
		sd.DTypes[name] = t.storage.dtype.torch
	}
	return nil
}

// getDict returns a dict-valued string key of d (nil-safe).
func (d *dictView) getDict(key string) (*dictView, bool) {
	if d == nil {
		return nil, false
	}
	v, ok := (*pickle.Dict)(d).Get(key)
	if !ok {
		return nil, false
	}
	sub, ok := v.(*pickle.Dict)
	return (*dictView)(sub), ok
}

type dictView pickle.Dict

// readRecord reads a whole zip record of exactly n bytes, so its CRC is checked.
func readRecord(f *zip.File, n int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("record %s: %w (truncated or damaged archive)", f.Name, err)
	}
	var one [1]byte
	if k, err := rc.Read(one[:]); k != 0 || (err != nil && err != io.EOF) {
		if err == nil {
			err = errors.New("longer than its header says")
		}
		return nil, fmt.Errorf("record %s: %w (truncated or damaged archive)", f.Name, err)
	}
	return b, nil
}

// gather copies a strided view out of a storage's bytes, row-major.
func gather(storage []byte, t *tensorRef) []byte {
	es := int64(t.storage.dtype.size)
	numel, _, _ := byteSize(t.size, 1)
	contiguous := true
	want := int64(1)
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != want {
			contiguous = false
		}
		want *= t.size[i]
	}
	if contiguous {
		return storage[t.offset*es : (t.offset+numel)*es]
	}
	out := make([]byte, 0, numel*es)
	idx := make([]int64, len(t.size))
	for n := int64(0); n < numel; n++ {
		at := t.offset
		for i, k := range idx {
			at += k * t.stride[i]
		}
		out = append(out, storage[at*es:(at+1)*es]...)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < t.size[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// torchStorageNames maps the writers' element types back to torch.*Storage.
var torchStorageNames = map[string]string{
	"float32": "FloatStorage", "float64": "DoubleStorage", "int64": "LongStorage",
	"int32": "IntStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
}

// torchArchive is the top directory of the records, as PyTorch 2 names it.
const torchArchive = "archive"

// WriteTorch writes sd as torch.save would write an OrderedDict of CPU
// tensors: torch.load(path) returns the state_dict, ready for
// load_state_dict. sd.Metadata travels in the state_dict's _metadata
// under the key "icnnlab" (load_state_dict only looks up module prefixes
// there, so it is ignored by PyTorch and read back by ReadTorch).
func WriteTorch(w io.Writer, sd *StateDict) error {
	enc := pickle.NewEncoder()
	enc.Global("collections", "OrderedDict")
	enc.EmptyTuple()
	enc.Reduce()
	enc.Put()
	payloads := make([][]byte, len(sd.Names))
	enc.Mark()
	for i, name := range sd.Names {
		t := sd.Tensors[name]
		if t == nil {
			return fmt.Errorf("tensor %q: missing", name)
		}
		b, et, err := encodeTensor(t)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		payloads[i] = b
		enc.String(name)
		enc.Global("torch._utils", "_rebuild_tensor_v2")
		enc.Mark()
		{
			enc.Mark()
			enc.String("storage")
			enc.Global("torch", torchStorageNames[et.torch])
			enc.String(strconv.Itoa(i))
			enc.String("cpu")
			enc.Int(int64(t.Len()))
			enc.Tuple()
			enc.BinPersID()
			enc.Int(0)
			shape := t.Shape()
			enc.Mark()
			for _, d := range shape {
				enc.Int(int64(d))
			}
			enc.Tuple()
			enc.Mark()
			stride := int64(1)
			strides := make([]int64, len(shape))
			for k := len(shape) - 1; k >= 0; k-- {
				strides[k] = stride
				stride *= int64(shape[k])
			}
			for _, s := range strides {
				enc.Int(s)
			}
			enc.Tuple()
			enc.Bool(false)
			enc.Global("collections", "OrderedDict")
			enc.EmptyTuple()
			enc.Reduce()
		}
		enc.Tuple()
		enc.Reduce()
	}
	enc.SetItems()
	if len(sd.Metadata) > 0 {
		keys := make([]string, 0, len(sd.Metadata))
		for k := range sd.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		enc.EmptyDict() // the instance __dict__
		enc.Mark()
		enc.String("_metadata")
		enc.Global("collections", "OrderedDict")
		enc.EmptyTuple()
		enc.Reduce()
		enc.Mark()
		enc.String("icnnlab")
		enc.EmptyDict()
		enc.Mark()
		for _, k := range keys {
			enc.String(k)
			enc.String(sd.Metadata[k])
		}
		enc.SetItems()
		enc.SetItems()
		enc.SetItems()
		enc.Build()
	}
	zw := zip.NewWriter(w)
	put := func(name string, b []byte) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: torchArchive + "/" + name, Method: zip.Store})
		if err != nil {
			return err
		}
		_, err = fw.Write(b)
		return err
	}
	if err := put("data.pkl", enc.Bytes()); err != nil {
		return err
	}
	for i, b := range payloads {
		if err := put("data/"+strconv.Itoa(i), b); err != nil {
			return fmt.Errorf("tensor %q: %w", sd.Names[i], err)
		}
	}
	if err := put("byteorder", []byte("little")); err != nil {
		return err
	}
	if err := put("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}
