package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/icnnlab/icnnlab/internal/weights/pickle"
)

// legacyMagic is 0x1950a86a20f9469cfc6c, little-endian, the first pickle
// of a file torch.save wrote before PyTorch 1.6.
var legacyMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// IsLegacyTorch reports whether data starts like a legacy torch.save file.
func IsLegacyTorch(head []byte) bool {
	return bytes.HasPrefix(head, append([]byte{0x80, 0x02, 0x8a, 0x0a}, legacyMagic...))
}

// noGlobals refuses every class: the legacy header pickles are plain values.
type noGlobals struct{}

func (noGlobals) Global(module, name string) (any, error) {
	return nil, fmt.Errorf("class %s.%s is not allowed in a header", module, name)
}
func (noGlobals) PersistentLoad(any) (any, error) {
	return nil, errors.New("persistent id in a header")
}

// ReadTorchLegacy reads the format torch.save wrote before PyTorch 1.6
// (and still writes with _use_new_zipfile_serialization=False): pickles
// of the magic number, the protocol version 1001 and the system info, the
// state_dict, and the sorted storage keys, then each storage as an 8-byte
// little-endian element count followed by its bytes.
func ReadTorchLegacy(data []byte) (*StateDict, error) {
	at := 0
	next := func(what string, res pickle.Resolver) (any, error) {
		v, n, err := pickle.UnpickleFrom(data[at:], res)
		if err != nil {
			return nil, fmt.Errorf("%s at byte %d: %w", what, at, err)
		}
		at += n
		return v, nil
	}
	magic, err := next("magic number", noGlobals{})
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(pickle.BigInt); !ok || !bytes.Equal(m, legacyMagic) {
		return nil, errors.New("not a legacy torch.save file (wrong magic number)")
	}
	version, err := next("protocol version", noGlobals{})
	if err != nil {
		return nil, err
	}
	if version != int64(1001) {
		return nil, fmt.Errorf("legacy protocol version %v is not supported (1001 is)", version)
	}
	info, err := next("system info", noGlobals{})
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pickle.Dict); ok {
		if le, _ := d.Get("little_endian"); le != true {
			return nil, errors.New("the file was written on a big-endian machine, which is not supported")
		}
	}
	res := &torchResolver{storages: map[string]*storageRef{}}
	v, err := next("state_dict", res)
	if err != nil {
		return nil, err
	}
	sd, refs, err := stateDict(v, "legacy pickle")
	if err != nil {
		return nil, err
	}
	keysValue, err := next("storage keys", noGlobals{})
	if err != nil {
		return nil, err
	}
	list, ok := keysValue.(*pickle.List)
	if !ok {
		return nil, fmt.Errorf("storage keys are a %s, not a list", pickle.TypeName(keysValue))
	}
	owner := map[string]string{}
	for _, name := range sd.Names {
		if _, ok := owner[refs[name].storage.key]; !ok {
			owner[refs[name].storage.key] = name
		}
	}
	storages := map[string][]byte{}
	for _, k := range list.Items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("storage key %v is not a string", k)
		}
		s, ok := res.storages[key]
		if !ok {
			return nil, fmt.Errorf("storage %s is listed but no tensor uses it", key)
		}
		if len(data)-at < 8 {
			return nil, fmt.Errorf("tensor %q: storage %s: the file ends at its size (truncated)", owner[key], key)
		}
		count := binary.LittleEndian.Uint64(data[at:])
		at += 8
		_, want, err := byteSize([]int64{s.numel}, s.dtype.size)
		if err != nil || count != uint64(s.numel) {
			return nil, fmt.Errorf("tensor %q: storage %s holds %d elements, the pickle says %d", owner[key], key, count, s.numel)
		}
		if int64(len(data)-at) < want {
			return nil, fmt.Errorf("tensor %q: storage %s needs %d bytes, %d are left (truncated)", owner[key], key, want, len(data)-at)
		}
		storages[key] = data[at : at+int(want)]
		at += int(want)
	}
	for key := range res.storages {
		if _, ok := storages[key]; !ok {
			return nil, fmt.Errorf("tensor %q: storage %s is missing from the file", owner[key], key)
		}
	}
	if at != len(data) {
		return nil, fmt.Errorf("%d bytes after the last storage", len(data)-at)
	}
	if err := fill(sd, refs, storages); err != nil {
		return nil, err
	}
	return sd, nil
}
