// Package pickle reads and writes the small subset of Python's pickle
// format that PyTorch's torch.save uses for a state_dict (protocols 2 to 5,
// binary opcodes only).
//
// The reader is strict: it never imports or calls anything by itself.
// Every GLOBAL is handed to the caller's Resolver, which decides what the
// class stands for or rejects it; opcodes outside the supported subset are
// errors naming the opcode and its offset. Pickles from the Python world
// can run arbitrary code when loaded by Python; this reader only builds
// plain values.
package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list (a pointer, because APPEND mutates it in place).
type List struct{ Items []any }

// Dict is a Python dict or OrderedDict, keeping insertion order. Keys are
// strings, integers, booleans, None or tuples of those (hashable plain values).
type Dict struct {
	Keys   []any
	Values []any
	// Attrs holds what BUILD set on the object (OrderedDict's __dict__,
	// e.g. a state_dict's _metadata).
	Attrs *Dict
	index map[string]int
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{index: map[string]int{}} }

// maxKeyNodes bounds the values a dict key may contain: tuples of tuples
// made with DUP share their parts, so a small pickle can describe a key
// with exponentially many elements.
const maxKeyNodes = 1 << 12

// keyString is a map key for a hashable value.
func keyString(k any) (string, error) {
	budget := maxKeyNodes
	return keyStringBudget(k, &budget)
}

func keyStringBudget(k any, budget *int) (string, error) {
	if *budget--; *budget < 0 {
		return "", fmt.Errorf("dict key has more than %d parts", maxKeyNodes)
	}
	switch v := k.(type) {
	case string:
		return "s" + v, nil
	case int64:
		return fmt.Sprintf("i%d", v), nil
	case bool:
		return fmt.Sprintf("b%t", v), nil
	case nil:
		return "n", nil
	case Tuple:
		var b bytes.Buffer
		b.WriteString("t(")
		for _, e := range v {
			s, err := keyStringBudget(e, budget)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%d:%s,", len(s), s)
		}
		b.WriteString(")")
		return b.String(), nil
	}
	return "", fmt.Errorf("unhashable dict key of type %s", TypeName(k))
}

// Set stores value under key, replacing an earlier value as Python does.
func (d *Dict) Set(key, value any) error {
	ks, err := keyString(key)
	if err != nil {
		return err
	}
	if i, ok := d.index[ks]; ok {
		d.Values[i] = value
		return nil
	}
	d.index[ks] = len(d.Keys)
	d.Keys = append(d.Keys, key)
	d.Values = append(d.Values, value)
	return nil
}

// Get returns the value under a string key.
func (d *Dict) Get(key string) (any, bool) {
	i, ok := d.index["s"+key]
	if !ok {
		return nil, false
	}
	return d.Values[i], true
}

// Len is the number of items.
func (d *Dict) Len() int { return len(d.Keys) }

// BigInt is an integer too wide for int64, as its little-endian
// two's-complement bytes.
type BigInt []byte

// Global is a class or function reference (module.name) as it appears in
// the pickle, before the Resolver gives it a meaning.
type Global struct{ Module, Name string }

func (g Global) String() string { return g.Module + "." + g.Name }

// Callable is what a Resolver returns for a global that REDUCE may call.
type Callable interface {
	Call(args Tuple) (any, error)
}

// Builder is implemented by values that accept BUILD (setstate).
type Builder interface {
	Build(state any) error
}

// Resolver gives globals a meaning and loads persistent ids.
type Resolver interface {
	// Global returns the value of module.name, or an error when the class
	// is not allowed.
	Global(module, name string) (any, error)
	// PersistentLoad returns the object a persistent id stands for.
	PersistentLoad(pid any) (any, error)
}

// Limits bound what a hostile pickle can make the reader allocate.
const (
	maxStack = 1 << 20
	maxMemo  = 1 << 22
)

// Error is a decoding error with the byte offset of the opcode.
type Error struct {
	Offset int
	Op     string
	Err    error
}

func (e *Error) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("pickle offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("pickle offset %d (%s): %v", e.Offset, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnsupportedOpcode is wrapped for opcodes outside the supported subset.
var ErrUnsupportedOpcode = errors.New("unsupported opcode")

// mark is the stack marker of MARK.
type mark struct{}

type decoder struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
	res   Resolver
}

// Unpickle decodes one pickle from data and returns its value. Trailing
// bytes after STOP are an error.
func Unpickle(data []byte, res Resolver) (any, error) {
	v, n, err := UnpickleFrom(data, res)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, &Error{Offset: n, Err: fmt.Errorf("%d bytes after STOP", len(data)-n)}
	}
	return v, nil
}

// UnpickleFrom decodes the pickle at the start of data and returns its
// value and its length: data may hold more after it (legacy torch.save
// files are several pickles in a row).
func UnpickleFrom(data []byte, res Resolver) (v any, n int, err error) {
	d := &decoder{data: data, memo: map[uint64]any{}, res: res}
	for {
		start := d.pos
		if d.pos >= len(d.data) {
			return nil, 0, &Error{Offset: start, Err: errors.New("truncated: no STOP opcode")}
		}
		op := d.data[d.pos]
		d.pos++
		v, done, err := d.step(op)
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return nil, 0, err
			}
			return nil, 0, &Error{Offset: start, Op: opName(op), Err: err}
		}
		if done {
			return v, d.pos, nil
		}
		if len(d.stack) > maxStack || len(d.memo) > maxMemo {
			return nil, 0, &Error{Offset: start, Op: opName(op), Err: errors.New("stack or memo too large")}
		}
	}
}

func (d *decoder) read(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, fmt.Errorf("truncated: wants %d bytes, %d left", n, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// operandWidth is the width in bytes of the unsigned integer that follows
// an opcode: the value itself (ints, memo keys) or the byte count of the
// value that follows it (longs, strings, bytes).
var operandWidth = map[byte]int{
	opBinInt1: 1, opBinInt2: 2,
	opBinPut: 1, opLongBinPut: 4, opBinGet: 1, opLongBinGet: 4,
	opLong1: 1, opLong4: 4,
	opShortBinUnicode: 1, opBinUnicode: 4, opBinUnicode8: 8,
	opShortBinString: 1, opBinString: 4, opShortBinBytes: 1, opBinBytes: 4, opBinBytes8: 8,
}

// readCounted reads a byte count of width bytes, then that many bytes.
func (d *decoder) readCounted(width int) ([]byte, error) {
	n, err := d.readUint(width)
	if err != nil {
		return nil, err
	}
	return d.read(int(min(n, math.MaxInt32)))
}

func (d *decoder) readUint(n int) (uint64, error) {
	b, err := d.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// readLine reads up to and excluding '\n' (GLOBAL's text arguments).
func (d *decoder) readLine() (string, error) {
	i := bytes.IndexByte(d.data[d.pos:], '\n')
	if i < 0 {
		return "", errors.New("truncated: line without newline")
	}
	s := string(d.data[d.pos : d.pos+i])
	d.pos += i + 1
	return s, nil
}

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	n := len(d.stack)
	if n == 0 || (len(d.marks) > 0 && d.marks[len(d.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	v := d.stack[n-1]
	d.stack = d.stack[:n-1]
	return v, nil
}

// popPair pops the top two items: below was pushed before top.
func (d *decoder) popPair() (below, top any, err error) {
	if top, err = d.pop(); err != nil {
		return nil, nil, err
	}
	if below, err = d.pop(); err != nil {
		return nil, nil, err
	}
	return below, top, nil
}

// popOneOrMark pops the items an opcode adds to a container: the top item,
// or (toMark) every item since the last MARK.
func (d *decoder) popOneOrMark(toMark bool) ([]any, error) {
	if toMark {
		return d.popMark()
	}
	v, err := d.pop()
	if err != nil {
		return nil, err
	}
	return []any{v}, nil
}

// topAs is the container on top of the stack that op adds to, which must be
// a T (the kind a message calls it); the message reads "OP <prep> a <type>,
// not a <kind>".
func topAs[T any](d *decoder, op byte, prep, kind string) (T, error) {
	var zero T
	v, err := d.top()
	if err != nil {
		return zero, err
	}
	c, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s %s a %s, not a %s", opName(op), prep, TypeName(v), kind)
	}
	return c, nil
}

func (d *decoder) top() (any, error) {
	n := len(d.stack)
	if n == 0 || (len(d.marks) > 0 && d.marks[len(d.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	return d.stack[n-1], nil
}

// popMark returns the items pushed since the last MARK and removes them.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) memoize(key uint64) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	d.memo[key] = v
	return nil
}

func (d *decoder) get(key uint64) error {
	v, ok := d.memo[key]
	if !ok {
		return fmt.Errorf("memo key %d was never stored", key)
	}
	d.push(v)
	return nil
}

func (d *decoder) global(module, name string) error {
	v, err := d.res.Global(module, name)
	if err != nil {
		return err
	}
	d.push(v)
	return nil
}

// step decodes one opcode; done is set by STOP with the result.
func (d *decoder) step(op byte) (result any, done bool, err error) {
	switch op {
	case opProto:
		v, err := d.readUint(1)
		if err != nil {
			return nil, false, err
		}
		if v < 2 || v > 5 {
			return nil, false, fmt.Errorf("protocol %d is not supported (2 to 5 are)", v)
		}
	case opFrame:
		if _, err := d.readUint(8); err != nil {
			return nil, false, err
		}
	case opStop:
		v, err := d.pop()
		if err != nil {
			return nil, false, err
		}
		if len(d.stack) != 0 || len(d.marks) != 0 {
			return nil, false, fmt.Errorf("%d values left on the stack at STOP", len(d.stack))
		}
		return v, true, nil
	case opMark:
		d.marks = append(d.marks, len(d.stack))
	case opPop:
		_, err = d.pop()
	case opPopMark:
		_, err = d.popMark()
	case opDup:
		var v any
		if v, err = d.top(); err == nil {
			d.push(v)
		}
	case opNone:
		d.push(nil)
	case opNewTrue:
		d.push(true)
	case opNewFalse:
		d.push(false)
	case opBinInt:
		var v uint64
		if v, err = d.readUint(4); err == nil {
			d.push(int64(int32(uint32(v))))
		}
	case opBinInt1, opBinInt2:
		var v uint64
		if v, err = d.readUint(operandWidth[op]); err == nil {
			d.push(int64(v))
		}
	case opLong1, opLong4:
		var b []byte
		if b, err = d.readCounted(operandWidth[op]); err != nil {
			return nil, false, err
		}
		if len(b) > 8 {
			// Too wide for int64: kept as bytes (legacy torch.save's magic number is 10 bytes).
			d.push(BigInt(append([]byte(nil), b...)))
			break
		}
		var v int64
		if v, err = decodeLong(b); err == nil {
			d.push(v)
		}
	case opBinFloat:
		var b []byte
		if b, err = d.read(8); err == nil {
			d.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case opBinUnicode, opShortBinUnicode, opBinUnicode8:
		var b []byte
		if b, err = d.readCounted(operandWidth[op]); err == nil {
			d.push(string(b))
		}
	case opBinString, opShortBinString, opBinBytes, opShortBinBytes, opBinBytes8:
		var b []byte
		if b, err = d.readCounted(operandWidth[op]); err != nil {
			return nil, false, err
		}
		if op == opBinString || op == opShortBinString {
			// Python 2 str; torch.load decodes it as ASCII.
			d.push(string(b))
		} else {
			d.push(append([]byte(nil), b...))
		}
	case opEmptyTuple:
		d.push(Tuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(d.stack) < n || (len(d.marks) > 0 && d.marks[len(d.marks)-1] > len(d.stack)-n) {
			return nil, false, errors.New("stack underflow")
		}
		t := append(Tuple(nil), d.stack[len(d.stack)-n:]...)
		d.stack = d.stack[:len(d.stack)-n]
		d.push(t)
	case opTuple:
		var items []any
		if items, err = d.popMark(); err == nil {
			d.push(Tuple(items))
		}
	case opEmptyList:
		d.push(&List{})
	case opList:
		var items []any
		if items, err = d.popMark(); err == nil {
			d.push(&List{Items: items})
		}
	case opAppend, opAppends:
		var items []any
		if items, err = d.popOneOrMark(op == opAppends); err != nil {
			return nil, false, err
		}
		var list *List
		if list, err = topAs[*List](d, op, "to", "list"); err != nil {
			return nil, false, err
		}
		list.Items = append(list.Items, items...)
	case opEmptyDict:
		d.push(NewDict())
	case opDict:
		var items []any
		if items, err = d.popMark(); err != nil {
			return nil, false, err
		}
		dict := NewDict()
		if err = setItems(dict, items); err == nil {
			d.push(dict)
		}
	case opSetItem:
		var k, v any
		if k, v, err = d.popPair(); err != nil {
			return nil, false, err
		}
		var dict *Dict
		if dict, err = topAs[*Dict](d, op, "on", "dict"); err != nil {
			return nil, false, err
		}
		err = dict.Set(k, v)
	case opSetItems:
		var items []any
		if items, err = d.popMark(); err != nil {
			return nil, false, err
		}
		var dict *Dict
		if dict, err = topAs[*Dict](d, op, "on", "dict"); err != nil {
			return nil, false, err
		}
		err = setItems(dict, items)
	case opBinPut, opLongBinPut:
		var k uint64
		if k, err = d.readUint(operandWidth[op]); err == nil {
			err = d.memoize(k)
		}
	case opMemoize:
		err = d.memoize(uint64(len(d.memo)))
	case opBinGet, opLongBinGet:
		var k uint64
		if k, err = d.readUint(operandWidth[op]); err == nil {
			err = d.get(k)
		}
	case opGlobal:
		var module, name string
		if module, err = d.readLine(); err != nil {
			return nil, false, err
		}
		if name, err = d.readLine(); err != nil {
			return nil, false, err
		}
		err = d.global(module, name)
	case opStackGlobal:
		var m, n any
		if m, n, err = d.popPair(); err != nil {
			return nil, false, err
		}
		module, ok1 := m.(string)
		name, ok2 := n.(string)
		if !ok1 || !ok2 {
			return nil, false, fmt.Errorf("STACK_GLOBAL wants two strings, got %s and %s", TypeName(m), TypeName(n))
		}
		err = d.global(module, name)
	case opReduce:
		var f, a any
		if f, a, err = d.popPair(); err != nil {
			return nil, false, err
		}
		args, ok := a.(Tuple)
		if !ok {
			return nil, false, fmt.Errorf("REDUCE arguments are a %s, not a tuple", TypeName(a))
		}
		c, ok := f.(Callable)
		if !ok {
			return nil, false, fmt.Errorf("REDUCE on a %s, which cannot be called", TypeName(f))
		}
		var v any
		if v, err = c.Call(args); err == nil {
			d.push(v)
		}
	case opBuild:
		var state, o any
		if state, err = d.pop(); err != nil {
			return nil, false, err
		}
		if o, err = d.top(); err != nil {
			return nil, false, err
		}
		switch obj := o.(type) {
		case *Dict:
			// OrderedDict.__reduce__ passes the instance __dict__ (a
			// state_dict's _metadata) as state.
			sd, ok := state.(*Dict)
			if !ok {
				return nil, false, fmt.Errorf("BUILD on a dict with a %s state, not a dict", TypeName(state))
			}
			obj.Attrs = sd
		case Builder:
			err = obj.Build(state)
		default:
			return nil, false, fmt.Errorf("BUILD on a %s, which takes no state", TypeName(o))
		}
	case opBinPersID:
		var pid any
		if pid, err = d.pop(); err != nil {
			return nil, false, err
		}
		var v any
		if v, err = d.res.PersistentLoad(pid); err == nil {
			d.push(v)
		}
	default:
		return nil, false, fmt.Errorf("%w %s (0x%02x): icnnlab reads the binary pickles torch.save writes", ErrUnsupportedOpcode, opName(op), op)
	}
	return nil, false, err
}

func setItems(dict *Dict, items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		if err := dict.Set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer; values that
// do not fit in int64 are errors (nothing in a state_dict needs them).
func decodeLong(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > 8 {
		return 0, fmt.Errorf("integer of %d bytes does not fit in 64 bits", len(b))
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
		v |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(v), nil
}

// TypeName names a decoded value's Python-ish type for messages.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case BigInt:
		return "int"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case Global:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprintf("%T", v)
}
