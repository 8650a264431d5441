package abi

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeDecode(t *testing.T) {
	records := [][]Value{
		{String("core-1"), Number(17.5), Bool(true), List(String("a"), String("bc"), Number(3), Null()), Null(), Other()},
		{String(""), Number(-0.25), Bool(false), Value{Kind: KindList, List: []Value{}}, String("dc1/r2"), List(List(Number(1)), Bool(true))},
	}
	const fields = 6
	size, err := LayoutSize(fields, records)
	if err != nil {
		t.Fatal(err)
	}
	// Slots, list elements, strings, verdicts.
	want := 2*fields*SlotSize + (4+2)*SlotSize + len("core-1a"+"bc"+"dc1/r2") + 2
	if size != want {
		t.Fatalf("LayoutSize %d, want %d", size, want)
	}
	const base = 0x1000
	mem := make([]byte, base+size+64)
	for i := range mem {
		mem[i] = 0xee // the layout must write every byte it claims
	}
	out := Encode(mem[base:base+size], base, fields, records)
	if out != size-2 {
		t.Errorf("verdicts at %d, want %d", out, size-2)
	}
	if mem[base+out] != 0 || mem[base+out+1] != 0 || mem[base+size] != 0xee {
		t.Errorf("verdict bytes % x, byte after % x", mem[base+out:base+out+2], mem[base+size])
	}
	for r, rec := range records {
		for f, v := range rec {
			addr := uint32(base + (r*fields+f)*SlotSize)
			got, err := Decode(mem, addr)
			if err != nil {
				t.Fatalf("record %d field %d: %v", r, f, err)
			}
			if v.Kind == KindList {
				for i, e := range v.List {
					if e.Kind == KindList {
						v.List[i] = Other() // a list in a list
					}
				}
			}
			if diff := cmp.Diff(v, got); diff != "" {
				t.Errorf("record %d field %d (-want +got):\n%s", r, f, diff)
			}
			if addr%8 != 0 {
				t.Errorf("slot at %#x not 8-byte aligned", addr)
			}
		}
	}
	// The exact bytes of one slot, as ABI.md describes them.
	slot := mem[base+SlotSize : base+2*SlotSize]
	if k, l, p := binary.LittleEndian.Uint32(slot), binary.LittleEndian.Uint32(slot[4:]), binary.LittleEndian.Uint64(slot[8:]); k != 2 || l != 0 || p != math.Float64bits(17.5) {
		t.Errorf("number slot: kind %d len %d payload %#x", k, l, p)
	}
	slot = mem[base : base+SlotSize]
	if k, l, p := binary.LittleEndian.Uint32(slot), binary.LittleEndian.Uint32(slot[4:]), binary.LittleEndian.Uint64(slot[8:]); k != 3 || l != 6 || p>>32 != 0 || string(mem[p:p+6]) != "core-1" {
		t.Errorf("string slot: kind %d len %d payload %#x", k, l, p)
	}
}

func TestLayoutSizeErrors(t *testing.T) {
	_, err := LayoutSize(2, [][]Value{{Null(), Null()}, {Null()}})
	if err == nil || !strings.Contains(err.Error(), "record 1 has 1 values, the manifest has 2 fields") {
		t.Errorf("LayoutSize: %v", err)
	}
	if n, err := LayoutSize(3, nil); n != 0 || err != nil {
		t.Errorf("LayoutSize of nothing: %d %v", n, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	mem := make([]byte, 64)
	binary.LittleEndian.PutUint32(mem[0:], uint32(KindString))
	binary.LittleEndian.PutUint32(mem[4:], 100)
	binary.LittleEndian.PutUint32(mem[16:], 9)
	for _, tt := range []struct {
		addr uint32
		want string
	}{
		{0, "outside memory"},
		{16, "unknown kind 9"},
		{60, "outside memory"},
	} {
		if _, err := Decode(mem, tt.addr); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode at %d: %v, want %q", tt.addr, err, tt.want)
		}
	}
}

func TestEq(t *testing.T) {
	tests := []struct {
		a, b Value
		want bool
	}{
		{Null(), Null(), true},
		{Null(), Number(0), false},
		{Number(1), Number(1), true},
		{Number(1), Bool(true), false},
		{Bool(true), Bool(true), true},
		{String("a"), String("a"), true},
		{String("a"), String("A"), false},
		{List(String("a"), Number(1)), List(String("a"), Number(1)), true},
		{List(String("a")), List(String("a"), Null()), false},
		{Other(), Other(), false},
		{Number(math.NaN()), Number(math.NaN()), false},
	}
	for _, tt := range tests {
		if got := tt.a.Eq(tt.b); got != tt.want {
			t.Errorf("%+v == %+v: %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFromJSON(t *testing.T) {
	tests := []struct {
		in   any
		want Value
	}{
		{nil, Null()},
		{true, Bool(true)},
		{65001.0, Number(65001)},
		{"x", String("x")},
		{[]any{"a", 1.0, []any{2.0}, map[string]any{}}, List(String("a"), Number(1), Other(), Other())},
		{map[string]any{"a": 1.0}, Other()},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, FromJSON(tt.in)); diff != "" {
			t.Errorf("FromJSON(%v) (-want +got):\n%s", tt.in, diff)
		}
	}
}
