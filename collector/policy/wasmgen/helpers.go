package wasmgen

import (
	"github.com/unet-project/unet/collector/policy/abi"
	w "github.com/unet-project/unet/collector/policy/wasmgen/internal/wasm"
)

// Helper functions, emitted once per module on first use. Slot arguments
// are slot addresses; strings and lists are (address, length) pairs.
const (
	hMemEq        = "memeq"         // (p1, p2, n) → 1 when the n bytes are equal
	hMemCmp       = "memcmp"        // (p1, l1, p2, l2) → -1, 0, 1 bytewise
	hStrStr       = "strstr"        // (hay, hayLen, needle, needleLen) → 1 when needle occurs
	hSlotEq       = "slot_eq"       // (a, b) → ABI equality, null equal to null
	hListEq       = "list_eq"       // (p1, n1, p2, n2) → element by element
	hListContains = "list_contains" // (p, n, slot) → some element equals slot
	hSlotOrder    = "slot_order"    // (a, b) → -1, 0, 1, or 2 when unordered
	hContains     = "contains"      // (a, b) → CONTAINS of two slots
)

var helperTypes = map[string]w.FuncType{
	hMemEq:        {Params: []w.ValType{w.I32, w.I32, w.I32}, Results: i32Only},
	hMemCmp:       {Params: []w.ValType{w.I32, w.I32, w.I32, w.I32}, Results: i32Only},
	hStrStr:       {Params: []w.ValType{w.I32, w.I32, w.I32, w.I32}, Results: i32Only},
	hSlotEq:       {Params: []w.ValType{w.I32, w.I32}, Results: i32Only},
	hListEq:       {Params: []w.ValType{w.I32, w.I32, w.I32, w.I32}, Results: i32Only},
	hListContains: {Params: []w.ValType{w.I32, w.I32, w.I32}, Results: i32Only},
	hSlotOrder:    {Params: []w.ValType{w.I32, w.I32}, Results: i32Only},
	hContains:     {Params: []w.ValType{w.I32, w.I32}, Results: i32Only},
}

// Offsets inside a slot.
const (
	offKind = 0
	offLen  = 4
	offVal  = 8
)

// helper returns the function index of the named helper, emitting it on
// first use. The index is recorded before the body is built, so helpers
// may call each other (slot_eq and list_eq do).
func (g *gen) helper(name string) uint32 {
	if fn, ok := g.helpers[name]; ok {
		return fn
	}
	fn := g.mod.DeclareFunc(helperTypes[name])
	g.helpers[name] = fn
	var c w.Code
	var locals []w.ValType
	switch name {
	case hMemEq:
		g.memEq(&c)
	case hMemCmp:
		locals = g.memCmp(&c)
	case hStrStr:
		locals = g.strStr(&c)
	case hSlotEq:
		locals = g.slotEq(&c)
	case hListEq:
		g.listEq(&c)
	case hListContains:
		g.listContains(&c)
	case hSlotOrder:
		locals = g.slotOrder(&c)
	case hContains:
		locals = g.contains(&c)
	}
	g.mod.SetBody(fn, locals, &c)
	return fn
}

// inc emits local += by.
func inc(c *w.Code, local uint32, by int32) {
	c.LocalGet(local).I32Const(by).Op(w.I32Add).LocalSet(local)
}

// returnIf emits: if the i32 on the stack is non-zero, return v.
func returnIf(c *w.Code, v int32) {
	c.If(w.Void)
	c.I32Const(v).Return()
	c.End()
}

// The helpers enter a loop only for inputs too long for their unrolled
// straight-line part: under WithCloseOnContextDone every loop iteration
// costs a call out to Go (see rule.go).

func (g *gen) memEq(c *w.Code) {
	const p1, p2, n = 0, 1, 2
	// 64 bytes per iteration while at least 64 remain.
	c.LocalGet(n).I32Const(64).Op(w.I32GeU)
	c.If(w.Void)
	loop := c.Loop(w.Void)
	for k := range uint32(8) {
		c.LocalGet(p1).I64Load(8 * k).LocalGet(p2).I64Load(8 * k).Op(w.I64Ne)
		returnIf(c, 0)
	}
	inc(c, p1, 64)
	inc(c, p2, 64)
	inc(c, n, -64)
	c.LocalGet(n).I32Const(64).Op(w.I32GeU).BrIf(loop)
	c.End()
	c.End()
	// The rest, fewer than 64 bytes, by the bits of n: 32, 16, 8, 4, 2, 1.
	for _, size := range []int32{32, 16, 8, 4, 2, 1} {
		c.LocalGet(n).I32Const(size).Op(w.I32And)
		c.If(w.Void)
		for off := uint32(0); off < uint32(size); {
			c.LocalGet(p1)
			switch {
			case size-int32(off) >= 8:
				c.I64Load(off).LocalGet(p2).I64Load(off).Op(w.I64Ne)
				off += 8
			case size == 4:
				c.I32Load(off).LocalGet(p2).I32Load(off).Op(w.I32Ne)
				off += 4
			case size == 2:
				c.I32Load16U(off).LocalGet(p2).I32Load16U(off).Op(w.I32Ne)
				off += 2
			default:
				c.I32Load8U(off).LocalGet(p2).I32Load8U(off).Op(w.I32Ne)
				off++
			}
			returnIf(c, 0)
		}
		if size > 1 {
			inc(c, p1, size)
			inc(c, p2, size)
		}
		c.End()
	}
	c.I32Const(1)
}

func (g *gen) memCmp(c *w.Code) []w.ValType {
	const p1, l1, p2, l2, m, cnt, a, b = 0, 1, 2, 3, 4, 5, 6, 7
	c.LocalGet(l1).LocalGet(l2).LocalGet(l1).LocalGet(l2).Op(w.I32LtU).Select().LocalSet(m)
	// Eight bytes at a time while they are equal; then byte by byte over
	// the (at most eight) bytes where they differ or that remain.
	chunk := func(bytes w.Label) {
		c.LocalGet(p1).I64Load(0).LocalGet(p2).I64Load(0).Op(w.I64Ne)
		c.If(w.Void)
		c.I32Const(8).LocalSet(cnt).Br(bytes)
		c.End()
		inc(c, p1, 8)
		inc(c, p2, 8)
		inc(c, m, -8)
	}
	bytes := c.Block(w.Void)
	tail := c.Block(w.Void)
	for range 4 {
		c.LocalGet(m).I32Const(8).Op(w.I32LtU).BrIf(tail)
		chunk(bytes)
	}
	c.LocalGet(m).I32Const(8).Op(w.I32GeU)
	c.If(w.Void)
	loop := c.Loop(w.Void)
	chunk(bytes)
	c.LocalGet(m).I32Const(8).Op(w.I32GeU).BrIf(loop)
	c.End()
	c.End()
	c.End() // tail: fewer than 8 bytes left, all equal so far
	c.LocalGet(m).LocalSet(cnt)
	c.End() // bytes
	end := c.Block(w.Void)
	for range 8 {
		c.LocalGet(cnt).Op(w.I32Eqz).BrIf(end)
		c.LocalGet(p1).I32Load8U(0).LocalSet(a)
		c.LocalGet(p2).I32Load8U(0).LocalSet(b)
		c.LocalGet(a).LocalGet(b).Op(w.I32Ne)
		c.If(w.Void)
		c.I32Const(-1).I32Const(1).LocalGet(a).LocalGet(b).Op(w.I32LtU).Select().Return()
		c.End()
		inc(c, p1, 1)
		inc(c, p2, 1)
		inc(c, cnt, -1)
	}
	c.End()
	// Common prefix: the shorter string orders first.
	c.I32Const(-1).I32Const(1).LocalGet(l1).LocalGet(l2).Op(w.I32LtU).Select()
	c.I32Const(0)
	c.LocalGet(l1).LocalGet(l2).Op(w.I32Ne).Select()
	return []w.ValType{w.I32, w.I32, w.I32, w.I32}
}

// strStrUnroll is how many positions strstr tries per loop iteration
// (and before entering the loop).
const strStrUnroll = 32

func (g *gen) strStr(c *w.Code) []w.ValType {
	const hp, hl, np, nl, last, first = 0, 1, 2, 3, 4, 5
	memeq := g.helper(hMemEq)
	c.LocalGet(nl).Op(w.I32Eqz)
	returnIf(c, 1)
	c.LocalGet(nl).LocalGet(hl).Op(w.I32GtU)
	returnIf(c, 0)
	c.LocalGet(hp).LocalGet(hl).LocalGet(nl).Op(w.I32Sub).Op(w.I32Add).LocalSet(last)
	c.LocalGet(np).I32Load8U(0).LocalSet(first)
	no := c.Block(w.Void)
	positions := func() {
		for range strStrUnroll {
			c.LocalGet(hp).LocalGet(last).Op(w.I32GtU).BrIf(no)
			// The first byte inline; memeq only on a candidate.
			c.LocalGet(hp).I32Load8U(0).LocalGet(first).Op(w.I32Eq)
			c.If(w.Void)
			c.LocalGet(hp).LocalGet(np).LocalGet(nl).Call(memeq)
			returnIf(c, 1)
			c.End()
			inc(c, hp, 1)
		}
	}
	positions()
	c.LocalGet(hp).LocalGet(last).Op(w.I32GtU).BrIf(no)
	loop := c.Loop(w.Void)
	positions()
	c.Br(loop)
	c.End()
	c.End()
	c.I32Const(0)
	return []w.ValType{w.I32, w.I32}
}

func (g *gen) slotEq(c *w.Code) []w.ValType {
	const a, b, k = 0, 1, 2
	memeq := g.helper(hMemEq)
	listEq := g.helper(hListEq)
	c.LocalGet(a).I32Load(offKind).LocalTee(k).LocalGet(b).I32Load(offKind).Op(w.I32Ne)
	returnIf(c, 0)
	other := c.Block(w.Void)
	list := c.Block(w.Void)
	str := c.Block(w.Void)
	num := c.Block(w.Void)
	boolean := c.Block(w.Void)
	null := c.Block(w.Void)
	c.LocalGet(k).BrTable([]w.Label{null, boolean, num, str, list}, other)
	c.End()
	c.I32Const(1).Return()
	c.End()
	c.LocalGet(a).I64Load(offVal).Op(w.I64Eqz).LocalGet(b).I64Load(offVal).Op(w.I64Eqz).Op(w.I32Eq).Return()
	c.End()
	c.LocalGet(a).F64Load(offVal).LocalGet(b).F64Load(offVal).Op(w.F64Eq).Return()
	c.End()
	c.LocalGet(a).I32Load(offLen).LocalGet(b).I32Load(offLen).Op(w.I32Ne)
	returnIf(c, 0)
	c.LocalGet(a).I32Load(offVal).LocalGet(b).I32Load(offVal).LocalGet(a).I32Load(offLen).Call(memeq).Return()
	c.End()
	c.LocalGet(a).I32Load(offVal).LocalGet(a).I32Load(offLen)
	c.LocalGet(b).I32Load(offVal).LocalGet(b).I32Load(offLen).Call(listEq).Return()
	c.End()
	c.I32Const(0) // other: equal to nothing
	return []w.ValType{w.I32}
}

// listUnroll is how many list elements the list helpers compare per loop
// iteration (and before entering the loop).
const listUnroll = 8

func (g *gen) listEq(c *w.Code) {
	const p1, n1, p2, n2 = 0, 1, 2, 3
	slotEq := g.helper(hSlotEq)
	c.LocalGet(n1).LocalGet(n2).Op(w.I32Ne)
	returnIf(c, 0)
	done := c.Block(w.Void)
	elements := func() {
		for range listUnroll {
			c.LocalGet(n1).Op(w.I32Eqz).BrIf(done)
			c.LocalGet(p1).LocalGet(p2).Call(slotEq).Op(w.I32Eqz)
			returnIf(c, 0)
			inc(c, p1, abi.SlotSize)
			inc(c, p2, abi.SlotSize)
			inc(c, n1, -1)
		}
	}
	elements()
	c.LocalGet(n1).Op(w.I32Eqz).BrIf(done)
	loop := c.Loop(w.Void)
	elements()
	c.Br(loop)
	c.End()
	c.End()
	c.I32Const(1)
}

func (g *gen) listContains(c *w.Code) {
	const p, n, s = 0, 1, 2
	slotEq := g.helper(hSlotEq)
	done := c.Block(w.Void)
	elements := func() {
		for range listUnroll {
			c.LocalGet(n).Op(w.I32Eqz).BrIf(done)
			c.LocalGet(p).LocalGet(s).Call(slotEq)
			returnIf(c, 1)
			inc(c, p, abi.SlotSize)
			inc(c, n, -1)
		}
	}
	elements()
	c.LocalGet(n).Op(w.I32Eqz).BrIf(done)
	loop := c.Loop(w.Void)
	elements()
	c.Br(loop)
	c.End()
	c.End()
	c.I32Const(0)
}

func (g *gen) slotOrder(c *w.Code) []w.ValType {
	const a, b, k = 0, 1, 2
	memcmp := g.helper(hMemCmp)
	c.LocalGet(a).I32Load(offKind).LocalTee(k).LocalGet(b).I32Load(offKind).Op(w.I32Ne)
	returnIf(c, 2)
	c.LocalGet(k).I32Const(int32(abi.KindNumber)).Op(w.I32Eq)
	c.If(w.Void)
	c.LocalGet(a).F64Load(offVal).LocalGet(b).F64Load(offVal).Op(w.F64Lt)
	returnIf(c, -1)
	c.LocalGet(a).F64Load(offVal).LocalGet(b).F64Load(offVal).Op(w.F64Gt)
	returnIf(c, 1)
	c.LocalGet(a).F64Load(offVal).LocalGet(b).F64Load(offVal).Op(w.F64Eq)
	returnIf(c, 0)
	c.I32Const(2).Return() // NaN
	c.End()
	c.LocalGet(k).I32Const(int32(abi.KindString)).Op(w.I32Eq)
	c.If(w.Void)
	c.LocalGet(a).I32Load(offVal).LocalGet(a).I32Load(offLen)
	c.LocalGet(b).I32Load(offVal).LocalGet(b).I32Load(offLen).Call(memcmp).Return()
	c.End()
	c.I32Const(2)
	return []w.ValType{w.I32}
}

func (g *gen) contains(c *w.Code) []w.ValType {
	const a, b, k = 0, 1, 2
	strstr := g.helper(hStrStr)
	listContains := g.helper(hListContains)
	c.LocalGet(b).I32Load(offKind).Op(w.I32Eqz)
	returnIf(c, 0)
	c.LocalGet(a).I32Load(offKind).LocalSet(k)
	c.LocalGet(k).I32Const(int32(abi.KindString)).Op(w.I32Eq)
	c.If(w.Void)
	c.LocalGet(b).I32Load(offKind).I32Const(int32(abi.KindString)).Op(w.I32Ne)
	returnIf(c, 0)
	c.LocalGet(a).I32Load(offVal).LocalGet(a).I32Load(offLen)
	c.LocalGet(b).I32Load(offVal).LocalGet(b).I32Load(offLen).Call(strstr).Return()
	c.End()
	c.LocalGet(k).I32Const(int32(abi.KindList)).Op(w.I32Eq)
	c.If(w.Void)
	c.LocalGet(a).I32Load(offVal).LocalGet(a).I32Load(offLen).LocalGet(b).Call(listContains).Return()
	c.End()
	c.I32Const(0)
	return []w.ValType{w.I32}
}
