package abi

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The record layout of ABI.md §Records: a batch is one buffer holding the
// records (one 16-byte slot per field), then the element slots of every
// list, then the bytes of every string, then one verdict byte per record.
// List elements come before string bytes so that every slot stays 8-byte
// aligned when the buffer is (unet_alloc promises it), whatever the string
// lengths.

// MaxBatchBytes bounds a laid-out batch: addresses are 32-bit.
const MaxBatchBytes = math.MaxUint32

// RecordSize is the number of bytes a record with the given number of
// fields takes, without its strings and lists.
func RecordSize(fields int) int { return fields * SlotSize }

// ValueSize is what v adds to a batch beyond its own slot: list element
// slots and string bytes, including those of strings inside lists.
func ValueSize(v Value) int {
	switch v.Kind {
	case KindString:
		return len(v.Str)
	case KindList:
		n := len(v.List) * SlotSize
		for _, e := range v.List {
			if e.Kind == KindString {
				n += len(e.Str)
			}
		}
		return n
	}
	return 0
}

// LayoutRecordSize is what one record adds to a batch: its slots, its
// strings and lists, and its verdict byte. A batch's LayoutSize is the sum
// of its records' LayoutRecordSize, which lets the host cut batches by
// size without laying them out.
func LayoutRecordSize(record []Value) int {
	n := RecordSize(len(record)) + 1
	for _, v := range record {
		n += ValueSize(v)
	}
	return n
}

// LayoutSize is the size of the buffer Encode needs for records, each of
// which must have exactly fields values.
func LayoutSize(fields int, records [][]Value) (int, error) {
	size := 0
	for r, rec := range records {
		if len(rec) != fields {
			return 0, fmt.Errorf("record %d has %d values, the manifest has %d fields", r, len(rec), fields)
		}
		size += LayoutRecordSize(rec)
		if size > MaxBatchBytes {
			return 0, fmt.Errorf("batch of %d records larger than 4 GiB", len(records))
		}
	}
	return size, nil
}

// Encode lays records out in buf, which sits at address base of the
// module's memory, and returns the offset in buf of the verdict bytes (one
// per record, zeroed). buf must hold LayoutSize bytes; every record must
// have fields values (LayoutSize checks both). Slots of the records start
// at buf[0], i.e. the `in` argument of unet_eval is base and `out` is
// base + the returned offset.
func Encode(buf []byte, base uint32, fields int, records [][]Value) (out int) {
	stride := RecordSize(fields)
	lists := len(records) * stride
	// First pass: where the string bytes start, after all list slots.
	strs := lists
	for _, rec := range records {
		for _, v := range rec {
			if v.Kind == KindList {
				strs += len(v.List) * SlotSize
			}
		}
	}
	for r, rec := range records {
		slots := buf[r*stride : (r+1)*stride]
		for f, v := range rec {
			slot := slots[f*SlotSize : (f+1)*SlotSize]
			switch v.Kind {
			case KindList:
				putSlot(slot, KindList, uint32(len(v.List)), uint64(base)+uint64(lists))
				for _, e := range v.List {
					if e.Kind == KindList {
						// A list inside a list is not comparable (ABI.md).
						e = Other()
					}
					strs = putScalar(buf, buf[lists:lists+SlotSize], base, strs, e)
					lists += SlotSize
				}
			default:
				strs = putScalar(buf, slot, base, strs, v)
			}
		}
	}
	clear(buf[strs : strs+len(records)])
	return strs
}

// putScalar writes a non-list value into slot, its string bytes (if any) at
// buf[strs:], and returns where the next string bytes go.
func putScalar(buf, slot []byte, base uint32, strs int, v Value) int {
	switch v.Kind {
	case KindBool:
		b := uint64(0)
		if v.Number != 0 {
			b = 1
		}
		putSlot(slot, KindBool, 0, b)
	case KindNumber:
		putSlot(slot, KindNumber, 0, math.Float64bits(v.Number))
	case KindString:
		putSlot(slot, KindString, uint32(len(v.Str)), uint64(base)+uint64(strs))
		strs += copy(buf[strs:], v.Str)
	case KindNull:
		putSlot(slot, KindNull, 0, 0)
	default:
		// KindOther, and any kind this ABI version does not know: a value
		// that equals nothing and is not null.
		putSlot(slot, KindOther, 0, 0)
	}
	return strs
}

func putSlot(slot []byte, k Kind, length uint32, payload uint64) {
	binary.LittleEndian.PutUint32(slot[0:4], uint32(k))
	binary.LittleEndian.PutUint32(slot[4:8], length)
	binary.LittleEndian.PutUint64(slot[8:16], payload)
}

// Decode reads back the value of the slot at address addr of mem (a whole
// linear memory, addresses absolute). It is the guest side of Encode, for
// tests and for modules written in Go that import this package.
func Decode(mem []byte, addr uint32) (Value, error) {
	return decode(mem, addr, true)
}

func decode(mem []byte, addr uint32, lists bool) (Value, error) {
	if uint64(addr)+SlotSize > uint64(len(mem)) {
		return Value{}, fmt.Errorf("slot at %#x outside memory", addr)
	}
	slot := mem[addr : addr+SlotSize]
	kind := Kind(binary.LittleEndian.Uint32(slot[0:4]))
	length := binary.LittleEndian.Uint32(slot[4:8])
	payload := binary.LittleEndian.Uint64(slot[8:16])
	switch kind {
	case KindNull:
		return Null(), nil
	case KindBool:
		return Bool(payload != 0), nil
	case KindNumber:
		return Number(math.Float64frombits(payload)), nil
	case KindString:
		p := uint64(uint32(payload))
		if p+uint64(length) > uint64(len(mem)) {
			return Value{}, fmt.Errorf("string at %#x+%d outside memory", p, length)
		}
		return String(string(mem[p : p+uint64(length)])), nil
	case KindList:
		if !lists {
			return Value{}, fmt.Errorf("list inside a list at %#x", addr)
		}
		p := uint64(uint32(payload))
		if p+uint64(length)*SlotSize > uint64(len(mem)) {
			return Value{}, fmt.Errorf("list at %#x of %d elements outside memory", p, length)
		}
		l := Value{Kind: KindList, List: make([]Value, length)}
		for i := range l.List {
			e, err := decode(mem, uint32(p)+uint32(i)*SlotSize, false)
			if err != nil {
				return Value{}, err
			}
			l.List[i] = e
		}
		return l, nil
	case KindOther:
		return Other(), nil
	}
	return Value{}, fmt.Errorf("slot at %#x has unknown kind %d", addr, kind)
}
