package sandbox

import (
	"encoding/binary"
	"encoding/json"
)

// A tiny WebAssembly assembler for the hostile modules of the tests: just
// the sections and instructions they use, emitted by hand so that each
// test states exactly the bytes a misbehaving module would contain.

const (
	i32 = 0x7f
	i64 = 0x7e
)

type wasmImport struct {
	module, name    string
	params, results []byte
}

type wasmFunc struct {
	export          string // "" for none
	params, results []byte
	locals          []byte // one type per extra local
	body            []byte // without the final end
}

type wasmData struct {
	offset uint32
	bytes  []byte
}

type wasmModule struct {
	imports   []wasmImport
	funcs     []wasmFunc
	memPages  uint32
	memExport string // "" for none
	data      []wasmData
	start     int // 1 + the index of the function of the start section; 0 for none
}

func (m wasmModule) encode() []byte {
	out := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	section := func(id byte, body []byte) {
		out = append(out, id)
		out = uleb(out, uint64(len(body)))
		out = append(out, body...)
	}
	// Types: one per import and function, in that order.
	var types []byte
	ntypes := 0
	addType := func(params, results []byte) {
		types = append(types, 0x60)
		types = vec(types, len(params), params)
		types = vec(types, len(results), results)
		ntypes++
	}
	for _, im := range m.imports {
		addType(im.params, im.results)
	}
	for _, f := range m.funcs {
		addType(f.params, f.results)
	}
	section(1, vec(nil, ntypes, types))

	var imports []byte
	for i, im := range m.imports {
		imports = name(imports, im.module)
		imports = name(imports, im.name)
		imports = append(imports, 0x00)
		imports = uleb(imports, uint64(i))
	}
	if len(m.imports) > 0 {
		section(2, vec(nil, len(m.imports), imports))
	}

	var funcs []byte
	for i := range m.funcs {
		funcs = uleb(funcs, uint64(len(m.imports)+i))
	}
	section(3, vec(nil, len(m.funcs), funcs))

	if m.memPages > 0 {
		section(5, append([]byte{0x01, 0x00}, uleb(nil, uint64(m.memPages))...))
	}

	var exports []byte
	nexports := 0
	for i, f := range m.funcs {
		if f.export != "" {
			exports = name(exports, f.export)
			exports = append(exports, 0x00)
			exports = uleb(exports, uint64(len(m.imports)+i))
			nexports++
		}
	}
	if m.memExport != "" {
		exports = name(exports, m.memExport)
		exports = append(exports, 0x02, 0x00)
		nexports++
	}
	section(7, vec(nil, nexports, exports))

	if m.start > 0 {
		section(8, uleb(nil, uint64(len(m.imports)+m.start-1)))
	}

	var code []byte
	for _, f := range m.funcs {
		var body []byte
		body = uleb(body, uint64(len(f.locals)))
		for _, l := range f.locals {
			body = append(body, 0x01, l)
		}
		body = append(body, f.body...)
		body = append(body, 0x0b)
		code = uleb(code, uint64(len(body)))
		code = append(code, body...)
	}
	section(10, vec(nil, len(m.funcs), code))

	if len(m.data) > 0 {
		var data []byte
		for _, d := range m.data {
			data = append(data, 0x00)
			data = append(data, i32Const(int32(d.offset))...)
			data = append(data, 0x0b)
			data = uleb(data, uint64(len(d.bytes)))
			data = append(data, d.bytes...)
		}
		section(11, vec(nil, len(m.data), data))
	}
	return out
}

func vec(out []byte, n int, items []byte) []byte { return append(uleb(out, uint64(n)), items...) }

func name(out []byte, s string) []byte { return vec(out, len(s), []byte(s)) }

func uleb(out []byte, v uint64) []byte { return binary.AppendUvarint(out, v) }

func sleb(out []byte, v int64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

// Instructions.
func i32Const(v int32) []byte { return sleb([]byte{0x41}, int64(v)) }
func i64Const(v int64) []byte { return sleb([]byte{0x42}, v) }
func localGet(i byte) []byte  { return []byte{0x20, i} }
func localSet(i byte) []byte  { return []byte{0x21, i} }
func call(i byte) []byte      { return []byte{0x10, i} }
func i32Load(offset uint32) []byte {
	return uleb([]byte{0x28, 0x02}, uint64(offset))
}

const (
	opUnreachable = 0x00
	opBlock       = 0x02 // followed by a block type
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opReturn      = 0x0f
	opDrop        = 0x1a
	opI32Store8   = 0x3a
	opMemoryGrow  = 0x40
	opI32Eq       = 0x46
	opI32GeU      = 0x4f
	opI32GtU      = 0x4b
	opI32Add      = 0x6a
	opI32Shl      = 0x74
	blockEmpty    = 0x40
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func ops(b ...byte) []byte { return b }

// memoryFill is memory.fill(dst, value, n) with the operands on the stack.
func memoryFill() []byte { return []byte{0xfc, 0x0b, 0x00} }

// policy describes a hand-written module that follows the ABI, with one
// field (node.name, a string), one regex (/^core-/i) and one rule per
// entry of rules. Each rule body runs in unet_eval(rule=0, in=1, n=2,
// out=3; local 4 is a scratch i32) and must return; a nil body writes
// compliant for every record and returns 0.
type policy struct {
	rules      []string
	bodies     map[int][]byte
	abiVersion int32
	// manifest, when set, replaces the JSON manifest; manifestRef, when
	// set, is what unet_manifest returns instead of its address and size.
	manifest    []byte
	manifestRef *int64
	alloc       []byte // body of unet_alloc(size=0), default below
	imports     []wasmImport
	initialize  []byte // body of an exported _initialize, when set
	start       []byte // body of the start function, when set
	command     bool   // export an empty _start
	pages       uint32
	data        []wasmData // more data segments
}

const (
	manifestAddr = 1024
	allocAddr    = 8192
)

func (p policy) wasm() []byte {
	if p.pages == 0 {
		p.pages = 2
	}
	if p.abiVersion == 0 {
		p.abiVersion = 1
	}
	man := p.manifest
	if man == nil {
		rules := make([]map[string]any, len(p.rules))
		for i, r := range p.rules {
			rules[i] = map[string]any{"name": r, "action": "apply", "template": "t.j2"}
		}
		var err error
		man, err = json.Marshal(map[string]any{
			"abi":     1,
			"fields":  []map[string]string{{"path": "node.name", "type": "string"}},
			"regexes": []map[string]string{{"pattern": "^core-", "flags": "i"}},
			"rules":   rules,
		})
		if err != nil {
			panic(err)
		}
	}
	ref := int64(manifestAddr)<<32 | int64(len(man))
	if p.manifestRef != nil {
		ref = *p.manifestRef
	}
	alloc := p.alloc
	if alloc == nil {
		// Everything above allocAddr, or 0 when that is too small.
		alloc = cat(localGet(0), i32Const(int32(p.pages*65536-allocAddr)), ops(opI32GtU, opIf, blockEmpty),
			i32Const(0), ops(opReturn, opEnd), i32Const(allocAddr))
	}
	var eval []byte
	for i, body := range p.bodies {
		eval = append(eval, cat(localGet(0), i32Const(int32(i)), ops(opI32Eq, opIf, blockEmpty), body, ops(opEnd))...)
	}
	eval = append(eval, cat(localGet(3), i32Const(1), localGet(2), memoryFill(), i32Const(0))...)
	m := wasmModule{
		imports: append([]wasmImport{{"unet", "regex_match", []byte{i32, i32, i32}, []byte{i32}}}, p.imports...),
		funcs: []wasmFunc{
			{export: "unet_abi_version", results: []byte{i32}, body: i32Const(p.abiVersion)},
			{export: "unet_manifest", results: []byte{i64}, body: i64Const(ref)},
			{export: "unet_alloc", params: []byte{i32}, results: []byte{i32}, body: alloc},
			{export: "unet_eval", params: []byte{i32, i32, i32, i32}, results: []byte{i32}, locals: []byte{i32}, body: eval},
		},
		memPages:  p.pages,
		memExport: "memory",
		data:      append([]wasmData{{manifestAddr, man}}, p.data...),
	}
	if p.initialize != nil {
		m.funcs = append(m.funcs, wasmFunc{export: "_initialize", body: p.initialize})
	}
	if p.command {
		m.funcs = append(m.funcs, wasmFunc{export: "_start"})
	}
	if p.start != nil {
		m.funcs = append(m.funcs, wasmFunc{body: p.start})
		m.start = len(m.funcs)
	}
	return m.encode()
}

// Rule bodies.
var (
	// infiniteLoop never returns.
	infiniteLoop = ops(opLoop, blockEmpty, opBr, 0, opEnd, opUnreachable)
	// unreachable executes unreachable.
	unreachable = ops(opUnreachable)
	// growForever grows memory a page at a time until it cannot, then
	// traps, as a Go guest out of memory does.
	growForever = cat(ops(opLoop, blockEmpty), i32Const(1), ops(opMemoryGrow, 0x00), i32Const(-1),
		ops(opI32Eq, opIf, blockEmpty, opUnreachable, opEnd, opBr, 0, opEnd, opUnreachable))
	// garbageVerdicts writes 0x7f for every record.
	garbageVerdicts = cat(localGet(3), i32Const(0x7f), localGet(2), memoryFill(), i32Const(0), ops(opReturn))
	// errorCode returns 7.
	errorCode = cat(i32Const(7), ops(opReturn))
	// regexOutOfRange asks regex_match about a string past the end of
	// memory.
	regexOutOfRange = cat(i32Const(0), i32Const(-256), i32Const(1000), call(0), ops(opDrop), i32Const(0), ops(opReturn))
	// regexUnknown asks regex_match about regex 5 of 1.
	regexUnknown = cat(i32Const(5), i32Const(0), i32Const(0), call(0), ops(opDrop), i32Const(0), ops(opReturn))
	// regexNames writes, for every record, violation when its node.name
	// matches the regex and compliant otherwise: it reads the slots and
	// calls regex_match as a generated module does.
	regexNames = cat(
		i32Const(0), localSet(4),
		ops(opBlock, blockEmpty, opLoop, blockEmpty),
		localGet(4), localGet(2), ops(opI32GeU, opBrIf, 1),
		// out + i
		localGet(3), localGet(4), ops(opI32Add),
		// regex_match(0, slot.ptr, slot.len) + 1
		i32Const(0),
		localGet(1), localGet(4), i32Const(4), ops(opI32Shl, opI32Add), i32Load(8),
		localGet(1), localGet(4), i32Const(4), ops(opI32Shl, opI32Add), i32Load(4),
		call(0), i32Const(1), ops(opI32Add),
		ops(opI32Store8, 0x00, 0x00),
		localGet(4), i32Const(1), ops(opI32Add), localSet(4),
		ops(opBr, 0, opEnd, opEnd),
		i32Const(0), ops(opReturn))
)
