package wasmgen

import (
	"encoding/binary"
	"math"

	"github.com/unet-project/unet/collector/policy/abi"
)

// data is the data segment under construction: constants at absolute
// addresses from base on.
type data struct {
	base    uint32
	buf     []byte
	strings map[string]uint32 // deduplicated string constants
}

func newData(base uint32) *data {
	return &data{base: base, strings: map[string]uint32{}}
}

func (d *data) end() uint32 { return d.base + uint32(len(d.buf)) }

// bytes places b and returns its address.
func (d *data) bytes(b []byte) uint32 {
	at := d.end()
	d.buf = append(d.buf, b...)
	return at
}

// str places s once and returns its address.
func (d *data) str(s string) uint32 {
	if at, ok := d.strings[s]; ok {
		return at
	}
	at := d.bytes([]byte(s))
	d.strings[s] = at
	return at
}

// slot places v as a slot (and what it points to) and returns the slot's
// address. A list inside a list becomes kind other, as the ABI lays it.
func (d *data) slot(v abi.Value) uint32 {
	kind, length, payload := d.slotFields(v, false)
	d.pad(8)
	at := d.end()
	d.buf = binary.LittleEndian.AppendUint32(d.buf, uint32(kind))
	d.buf = binary.LittleEndian.AppendUint32(d.buf, length)
	d.buf = binary.LittleEndian.AppendUint64(d.buf, payload)
	return at
}

// list places the element slots of a list and returns their address.
func (d *data) list(vs []abi.Value) uint32 {
	type slot struct {
		kind    abi.Kind
		length  uint32
		payload uint64
	}
	// Strings first, then the element array, so the array stays contiguous.
	s := make([]slot, len(vs))
	for i, v := range vs {
		s[i].kind, s[i].length, s[i].payload = d.slotFields(v, true)
	}
	d.pad(8)
	at := d.end()
	for _, e := range s {
		d.buf = binary.LittleEndian.AppendUint32(d.buf, uint32(e.kind))
		d.buf = binary.LittleEndian.AppendUint32(d.buf, e.length)
		d.buf = binary.LittleEndian.AppendUint64(d.buf, e.payload)
	}
	return at
}

func (d *data) slotFields(v abi.Value, inList bool) (abi.Kind, uint32, uint64) {
	switch v.Kind {
	case abi.KindBool:
		if v.Number != 0 {
			return abi.KindBool, 0, 1
		}
		return abi.KindBool, 0, 0
	case abi.KindNumber:
		return abi.KindNumber, 0, math.Float64bits(v.Number)
	case abi.KindString:
		return abi.KindString, uint32(len(v.Str)), uint64(d.str(v.Str))
	case abi.KindList:
		if inList {
			return abi.KindOther, 0, 0
		}
		return abi.KindList, uint32(len(v.List)), uint64(d.list(v.List))
	case abi.KindNull:
		return abi.KindNull, 0, 0
	}
	return abi.KindOther, 0, 0
}

func (d *data) pad(a int) {
	for len(d.buf)%a != 0 {
		d.buf = append(d.buf, 0)
	}
}
