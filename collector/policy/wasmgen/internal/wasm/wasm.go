// Package wasm is a minimal WebAssembly (MVP) binary encoder: just the
// sections, types and instructions the policy code generator emits. It
// validates nothing beyond what it needs to compute indices; the generated
// module is validated by the runtime that compiles it (wazero), and the
// tests compile every module they build.
package wasm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// ValType is a value type.
type ValType byte

const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F32 ValType = 0x7d
	F64 ValType = 0x7c
)

// BlockType is the result type of a structured instruction: Void or one
// value type.
type BlockType byte

const (
	Void     BlockType = 0x40
	BlockI32           = BlockType(I32)
	BlockI64           = BlockType(I64)
	BlockF64           = BlockType(F64)
)

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

func (t FuncType) key() string {
	return string(typeBytes(t.Params)) + "|" + string(typeBytes(t.Results))
}

func typeBytes(vs []ValType) []byte {
	b := make([]byte, len(vs))
	for i, v := range vs {
		b[i] = byte(v)
	}
	return b
}

// Export kinds.
const (
	ExportFunc   byte = 0x00
	ExportTable  byte = 0x01
	ExportMemory byte = 0x02
	ExportGlobal byte = 0x03
)

type importFunc struct {
	module, name string
	typ          uint32
}

type function struct {
	typ    uint32
	locals []ValType
	body   []byte // without the trailing end
	set    bool
}

type export struct {
	name  string
	kind  byte
	index uint32
}

type elemSeg struct {
	offset uint32
	funcs  []uint32
}

type dataSeg struct {
	offset uint32
	data   []byte
}

// Module collects the parts of a module; Encode writes it.
// Imports must all be added before the first DeclareFunc, because imported
// functions come first in the function index space.
type Module struct {
	types     []FuncType
	typeIndex map[string]uint32
	imports   []importFunc
	funcs     []function
	memMin    uint32
	memMax    uint32
	hasMem    bool
	hasMax    bool
	exports   []export
	data      []dataSeg
	table     int64 // funcref table size; -1: none
	elems     []elemSeg
	err       error
}

// NewModule returns an empty module.
func NewModule() *Module {
	return &Module{typeIndex: map[string]uint32{}, table: -1}
}

// Type returns the index of t in the type section, adding it once.
func (m *Module) Type(t FuncType) uint32 {
	k := t.key()
	if i, ok := m.typeIndex[k]; ok {
		return i
	}
	i := uint32(len(m.types))
	m.types = append(m.types, t)
	m.typeIndex[k] = i
	return i
}

// ImportFunc adds an imported function and returns its function index.
func (m *Module) ImportFunc(module, name string, t FuncType) uint32 {
	if len(m.funcs) > 0 && m.err == nil {
		m.err = fmt.Errorf("wasm: import %s.%s after a defined function", module, name)
	}
	m.imports = append(m.imports, importFunc{module, name, m.Type(t)})
	return uint32(len(m.imports) - 1)
}

// DeclareFunc reserves a function index for a function of type t; its body
// is given later with SetBody, so functions can call each other before
// their code exists.
func (m *Module) DeclareFunc(t FuncType) uint32 {
	m.funcs = append(m.funcs, function{typ: m.Type(t)})
	return uint32(len(m.imports) + len(m.funcs) - 1)
}

// SetBody gives the code of a declared function: extra locals (after the
// parameters) and the instructions, which must leave the function's
// results on the stack; the final end is added here.
func (m *Module) SetBody(index uint32, locals []ValType, c *Code) {
	i := int(index) - len(m.imports)
	if i < 0 || i >= len(m.funcs) {
		m.fail(fmt.Errorf("wasm: SetBody of unknown function %d", index))
		return
	}
	if c.depth != 0 {
		m.fail(fmt.Errorf("wasm: function %d has %d unclosed blocks", index, c.depth))
	}
	if c.err != nil {
		m.fail(c.err)
	}
	m.funcs[i].locals = locals
	m.funcs[i].body = c.buf.Bytes()
	m.funcs[i].set = true
}

// Memory declares the module's memory with a minimum number of 64 KiB
// pages; max < 0 means no maximum.
func (m *Module) Memory(min uint32, max int64) {
	m.hasMem, m.memMin = true, min
	if max >= 0 {
		m.hasMax, m.memMax = true, uint32(max)
	}
}

// Table declares the module's funcref table with exactly size entries.
func (m *Module) Table(size uint32) { m.table = int64(size) }

// Elem fills table entries from offset on with functions.
func (m *Module) Elem(offset uint32, funcs []uint32) {
	m.elems = append(m.elems, elemSeg{offset, funcs})
}

// Export exports item index of the given kind under name.
func (m *Module) Export(name string, kind byte, index uint32) {
	m.exports = append(m.exports, export{name, kind, index})
}

// Data adds an active data segment for memory 0 at offset.
func (m *Module) Data(offset uint32, b []byte) {
	m.data = append(m.data, dataSeg{offset, b})
}

func (m *Module) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// Encode returns the binary module.
func (m *Module) Encode() ([]byte, error) {
	if m.err != nil {
		return nil, m.err
	}
	for i, f := range m.funcs {
		if !f.set {
			return nil, fmt.Errorf("wasm: function %d declared without a body", len(m.imports)+i)
		}
	}
	var out bytes.Buffer
	out.Write([]byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00})

	section := func(id byte, count int, write func(b *bytes.Buffer)) {
		if count == 0 {
			return
		}
		var b bytes.Buffer
		b.Write(U32(uint32(count)))
		write(&b)
		out.WriteByte(id)
		out.Write(U32(uint32(b.Len())))
		out.Write(b.Bytes())
	}

	section(1, len(m.types), func(b *bytes.Buffer) {
		for _, t := range m.types {
			b.WriteByte(0x60)
			b.Write(U32(uint32(len(t.Params))))
			b.Write(typeBytes(t.Params))
			b.Write(U32(uint32(len(t.Results))))
			b.Write(typeBytes(t.Results))
		}
	})
	section(2, len(m.imports), func(b *bytes.Buffer) {
		for _, im := range m.imports {
			writeName(b, im.module)
			writeName(b, im.name)
			b.WriteByte(0x00) // function
			b.Write(U32(im.typ))
		}
	})
	section(3, len(m.funcs), func(b *bytes.Buffer) {
		for _, f := range m.funcs {
			b.Write(U32(f.typ))
		}
	})
	if m.table >= 0 {
		section(4, 1, func(b *bytes.Buffer) {
			b.WriteByte(0x70) // funcref
			b.WriteByte(0x01) // min and max
			b.Write(U32(uint32(m.table)))
			b.Write(U32(uint32(m.table)))
		})
	}
	if m.hasMem {
		section(5, 1, func(b *bytes.Buffer) {
			if m.hasMax {
				b.WriteByte(0x01)
				b.Write(U32(m.memMin))
				b.Write(U32(m.memMax))
			} else {
				b.WriteByte(0x00)
				b.Write(U32(m.memMin))
			}
		})
	}
	section(7, len(m.exports), func(b *bytes.Buffer) {
		for _, e := range m.exports {
			writeName(b, e.name)
			b.WriteByte(e.kind)
			b.Write(U32(e.index))
		}
	})
	section(9, len(m.elems), func(b *bytes.Buffer) {
		for _, e := range m.elems {
			b.WriteByte(0x00) // active, table 0, funcrefs
			b.WriteByte(opI32Const)
			b.Write(S32(int32(e.offset)))
			b.WriteByte(opEnd)
			b.Write(U32(uint32(len(e.funcs))))
			for _, f := range e.funcs {
				b.Write(U32(f))
			}
		}
	})
	section(10, len(m.funcs), func(b *bytes.Buffer) {
		for _, f := range m.funcs {
			var fb bytes.Buffer
			// Locals are run-length encoded by type.
			var groups [][2]uint32
			for _, l := range f.locals {
				if n := len(groups); n > 0 && groups[n-1][1] == uint32(l) {
					groups[n-1][0]++
				} else {
					groups = append(groups, [2]uint32{1, uint32(l)})
				}
			}
			fb.Write(U32(uint32(len(groups))))
			for _, g := range groups {
				fb.Write(U32(g[0]))
				fb.WriteByte(byte(g[1]))
			}
			fb.Write(f.body)
			fb.WriteByte(opEnd)
			b.Write(U32(uint32(fb.Len())))
			b.Write(fb.Bytes())
		}
	})
	section(11, len(m.data), func(b *bytes.Buffer) {
		for _, d := range m.data {
			b.WriteByte(0x00) // active, memory 0
			b.WriteByte(opI32Const)
			b.Write(S32(int32(d.offset)))
			b.WriteByte(opEnd)
			b.Write(U32(uint32(len(d.data))))
			b.Write(d.data)
		}
	})
	return out.Bytes(), nil
}

func writeName(b *bytes.Buffer, s string) {
	b.Write(U32(uint32(len(s))))
	b.WriteString(s)
}

// U32 is the unsigned LEB128 encoding of v.
func U32(v uint32) []byte { return U64(uint64(v)) }

// U64 is the unsigned LEB128 encoding of v.
func U64(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// S32 is the signed LEB128 encoding of v.
func S32(v int32) []byte { return S64(int64(v)) }

// S64 is the signed LEB128 encoding of v.
func S64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7 // arithmetic shift keeps the sign
		done := (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0)
		if !done {
			c |= 0x80
		}
		b = append(b, c)
		if done {
			return b
		}
	}
}

// Opcodes used by the helpers below; numeric ones are exported for Op.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opBrTable     = 0x0e
	opReturn      = 0x0f
	opCall        = 0x10
	opCallInd     = 0x11
	opDrop        = 0x1a
	opSelect      = 0x1b
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opI32Load     = 0x28
	opI64Load     = 0x29
	opF64Load     = 0x2b
	opI32Load8U   = 0x2d
	opI32Load16U  = 0x2f
	opI32Store    = 0x36
	opI64Store    = 0x37
	opI32Store8   = 0x3a
	opMemorySize  = 0x3f
	opMemoryGrow  = 0x40
	opI32Const    = 0x41
	opI64Const    = 0x42
	opF64Const    = 0x44
)

// Numeric instructions without immediates, for Code.Op.
const (
	I32Eqz        byte = 0x45
	I32Eq         byte = 0x46
	I32Ne         byte = 0x47
	I32LtS        byte = 0x48
	I32LtU        byte = 0x49
	I32GtS        byte = 0x4a
	I32GtU        byte = 0x4b
	I32LeS        byte = 0x4c
	I32LeU        byte = 0x4d
	I32GeS        byte = 0x4e
	I32GeU        byte = 0x4f
	I64Eqz        byte = 0x50
	I64Eq         byte = 0x51
	I64Ne         byte = 0x52
	I64LtU        byte = 0x54
	I64GtU        byte = 0x56
	F64Eq         byte = 0x61
	F64Ne         byte = 0x62
	F64Lt         byte = 0x63
	F64Gt         byte = 0x64
	F64Le         byte = 0x65
	F64Ge         byte = 0x66
	I32Add        byte = 0x6a
	I32Sub        byte = 0x6b
	I32Mul        byte = 0x6c
	I32And        byte = 0x71
	I32Or         byte = 0x72
	I32Xor        byte = 0x73
	I32Shl        byte = 0x74
	I32ShrU       byte = 0x76
	I64Add        byte = 0x7c
	I64Sub        byte = 0x7d
	I64ShrU       byte = 0x88
	I32WrapI64    byte = 0xa7
	I64ExtendI32U byte = 0xad
)

// Label is a structured block; branches name it instead of a raw depth.
type Label struct{ depth int }

// Code is a function body under construction. Block, Loop and If return
// labels whose branch depth Br computes from the current nesting.
type Code struct {
	buf   bytes.Buffer
	depth int
	err   error
}

// Op emits a numeric instruction that has no immediate.
func (c *Code) Op(op byte) *Code { c.buf.WriteByte(op); return c }

// Ops emits several such instructions.
func (c *Code) Ops(ops ...byte) *Code { c.buf.Write(ops); return c }

func (c *Code) I32Const(v int32) *Code { c.buf.WriteByte(opI32Const); c.buf.Write(S32(v)); return c }
func (c *Code) I64Const(v int64) *Code { c.buf.WriteByte(opI64Const); c.buf.Write(S64(v)); return c }

func (c *Code) F64Const(v float64) *Code {
	c.buf.WriteByte(opF64Const)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
	c.buf.Write(b[:])
	return c
}

func (c *Code) LocalGet(i uint32) *Code { return c.idx(opLocalGet, i) }
func (c *Code) LocalSet(i uint32) *Code { return c.idx(opLocalSet, i) }
func (c *Code) LocalTee(i uint32) *Code { return c.idx(opLocalTee, i) }
func (c *Code) Call(f uint32) *Code     { return c.idx(opCall, f) }

// CallIndirect calls entry i (the i32 on the stack) of table 0, which
// must be a function of type index typ.
func (c *Code) CallIndirect(typ uint32) *Code {
	c.buf.WriteByte(opCallInd)
	c.buf.Write(U32(typ))
	c.buf.WriteByte(0x00) // table 0
	return c
}

func (c *Code) idx(op byte, i uint32) *Code {
	c.buf.WriteByte(op)
	c.buf.Write(U32(i))
	return c
}

func (c *Code) mem(op byte, align, offset uint32) *Code {
	c.buf.WriteByte(op)
	c.buf.Write(U32(align))
	c.buf.Write(U32(offset))
	return c
}

// Loads and stores take a constant offset added to the address operand;
// alignment hints are the natural ones.
func (c *Code) I32Load(offset uint32) *Code    { return c.mem(opI32Load, 2, offset) }
func (c *Code) I64Load(offset uint32) *Code    { return c.mem(opI64Load, 3, offset) }
func (c *Code) F64Load(offset uint32) *Code    { return c.mem(opF64Load, 3, offset) }
func (c *Code) I32Load8U(offset uint32) *Code  { return c.mem(opI32Load8U, 0, offset) }
func (c *Code) I32Load16U(offset uint32) *Code { return c.mem(opI32Load16U, 1, offset) }
func (c *Code) I32Store(offset uint32) *Code   { return c.mem(opI32Store, 2, offset) }
func (c *Code) I64Store(offset uint32) *Code   { return c.mem(opI64Store, 3, offset) }
func (c *Code) I32Store8(offset uint32) *Code  { return c.mem(opI32Store8, 0, offset) }

func (c *Code) MemorySize() *Code { c.buf.Write([]byte{opMemorySize, 0}); return c }
func (c *Code) MemoryGrow() *Code { c.buf.Write([]byte{opMemoryGrow, 0}); return c }

func (c *Code) Drop() *Code        { c.buf.WriteByte(opDrop); return c }
func (c *Code) Select() *Code      { c.buf.WriteByte(opSelect); return c }
func (c *Code) Return() *Code      { c.buf.WriteByte(opReturn); return c }
func (c *Code) Unreachable() *Code { c.buf.WriteByte(opUnreachable); return c }

func (c *Code) open(op byte, t BlockType) Label {
	c.buf.WriteByte(op)
	c.buf.WriteByte(byte(t))
	c.depth++
	return Label{c.depth}
}

// Block opens a block; a branch to it exits the block.
func (c *Code) Block(t BlockType) Label { return c.open(opBlock, t) }

// Loop opens a loop; a branch to it jumps back to its start.
func (c *Code) Loop(t BlockType) Label { return c.open(opLoop, t) }

// If opens an if on the i32 on the stack.
func (c *Code) If(t BlockType) Label { return c.open(opIf, t) }

// Else starts the else arm of the innermost if.
func (c *Code) Else() *Code { c.buf.WriteByte(opElse); return c }

// End closes the innermost block, loop or if.
func (c *Code) End() *Code {
	if c.depth == 0 && c.err == nil {
		c.err = fmt.Errorf("wasm: end without an open block")
	}
	c.depth--
	c.buf.WriteByte(opEnd)
	return c
}

func (c *Code) rel(l Label) uint32 {
	d := c.depth - l.depth
	if (d < 0 || l.depth == 0) && c.err == nil {
		c.err = fmt.Errorf("wasm: branch to a closed label")
	}
	return uint32(d)
}

// Br branches to l.
func (c *Code) Br(l Label) *Code { return c.idx(opBr, c.rel(l)) }

// BrIf branches to l when the i32 on the stack is non-zero.
func (c *Code) BrIf(l Label) *Code { return c.idx(opBrIf, c.rel(l)) }

// BrTable branches to targets[i] for the i32 i on the stack, to def when
// it is out of range.
func (c *Code) BrTable(targets []Label, def Label) *Code {
	c.buf.WriteByte(opBrTable)
	c.buf.Write(U32(uint32(len(targets))))
	for _, t := range targets {
		c.buf.Write(U32(c.rel(t)))
	}
	c.buf.Write(U32(c.rel(def)))
	return c
}
