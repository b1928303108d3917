package pickle

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Encoder writes a protocol-2 pickle opcode by opcode. It is the writing
// half of this package's subset: callers emit the opcodes of the objects
// they need (torchzip writes a state_dict) and Bytes returns the pickle.
type Encoder struct {
	buf  bytes.Buffer
	memo uint32
}

// NewEncoder starts a protocol-2 pickle.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.buf.Write([]byte{opProto, 2})
	return e
}

// Bytes ends the pickle with STOP and returns it.
func (e *Encoder) Bytes() []byte {
	e.buf.WriteByte(opStop)
	return e.buf.Bytes()
}

// Global pushes module.name.
func (e *Encoder) Global(module, name string) {
	e.buf.WriteByte(opGlobal)
	e.buf.WriteString(module + "\n" + name + "\n")
}

// Mark pushes a MARK.
func (e *Encoder) Mark() { e.buf.WriteByte(opMark) }

// Tuple replaces the items since the last Mark by a tuple.
func (e *Encoder) Tuple() { e.buf.WriteByte(opTuple) }

// EmptyTuple pushes ().
func (e *Encoder) EmptyTuple() { e.buf.WriteByte(opEmptyTuple) }

// EmptyDict pushes {}.
func (e *Encoder) EmptyDict() { e.buf.WriteByte(opEmptyDict) }

// SetItems adds the key/value pairs since the last Mark to the dict below it.
func (e *Encoder) SetItems() { e.buf.WriteByte(opSetItems) }

// Reduce calls the callable below the top with the argument tuple on top.
func (e *Encoder) Reduce() { e.buf.WriteByte(opReduce) }

// Build calls setstate on the object below the top with the state on top.
func (e *Encoder) Build() { e.buf.WriteByte(opBuild) }

// BinPersID replaces the top by the object its persistent id stands for.
func (e *Encoder) BinPersID() { e.buf.WriteByte(opBinPersID) }

// Put memoizes the top under the next free index (torch.load does not
// need it; it keeps the pickle shaped like Python's own).
func (e *Encoder) Put() {
	if e.memo < 256 {
		e.buf.Write([]byte{opBinPut, byte(e.memo)})
	} else {
		e.buf.WriteByte(opLongBinPut)
		binary.Write(&e.buf, binary.LittleEndian, e.memo)
	}
	e.memo++
}

// Bool pushes True or False.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf.WriteByte(opNewTrue)
	} else {
		e.buf.WriteByte(opNewFalse)
	}
}

// None pushes None.
func (e *Encoder) None() { e.buf.WriteByte(opNone) }

// Int pushes an integer.
func (e *Encoder) Int(v int64) {
	switch {
	case v >= 0 && v < 1<<8:
		e.buf.Write([]byte{opBinInt1, byte(v)})
	case v >= 0 && v < 1<<16:
		e.buf.Write([]byte{opBinInt2, byte(v), byte(v >> 8)})
	case v >= math.MinInt32 && v <= math.MaxInt32:
		e.buf.WriteByte(opBinInt)
		binary.Write(&e.buf, binary.LittleEndian, int32(v))
	default:
		e.buf.Write([]byte{opLong1, 8})
		binary.Write(&e.buf, binary.LittleEndian, v)
	}
}

// String pushes a str (BINUNICODE, which protocol 2 has).
func (e *Encoder) String(s string) {
	e.buf.WriteByte(opBinUnicode)
	binary.Write(&e.buf, binary.LittleEndian, uint32(len(s)))
	e.buf.WriteString(s)
}
