// Package wasmgen compiles a checked policy Program (collector/policy/lang)
// into a WebAssembly module that follows the policy ABI
// (policies-wasm/ABI.md, collector/policy/abi). It writes the binary itself,
// with no toolchain at run time.
//
// The module's memory starts with a small reserved area (so that address 0
// is never a valid buffer), then the data segment (the manifest JSON, the
// constant strings and the constant slots of list literals), then the heap
// that unet_alloc hands out. Each rule is one function giving the verdict
// of one record: straight-line code over the record's slots, with a few
// helper functions (byte comparison, substring search, slot equality)
// emitted once when a rule needs them. One driver, shared by every rule,
// runs a rule's function over a batch and stores the verdict bytes (see
// rule.go for why it has no loop). MATCHES checks what it can of a regex
// in WASM before it calls the host (regex.go).
//
// The reference for the semantics is collector/policy/interp; the tests
// compare the two on the interpreter's golden cases and on random
// policies (FuzzCompileVsInterp).
package wasmgen

import (
	"encoding/json"
	"fmt"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	w "github.com/unet-project/unet/collector/policy/wasmgen/internal/wasm"
)

const (
	// dataBase is where the data segment starts; below it nothing lives, so
	// a zero pointer from unet_alloc always means failure.
	dataBase = 16
	pageSize = 65536
	// errBadRule is unet_eval's return code for a rule number out of range.
	errBadRule = 1
)

var (
	tI32    = w.FuncType{Results: []w.ValType{w.I32}}
	tI64    = w.FuncType{Results: []w.ValType{w.I64}}
	tAlloc  = w.FuncType{Params: []w.ValType{w.I32}, Results: []w.ValType{w.I32}}
	tEval   = w.FuncType{Params: []w.ValType{w.I32, w.I32, w.I32, w.I32}, Results: []w.ValType{w.I32}}
	tDriver = w.FuncType{Params: []w.ValType{w.I32, w.I32, w.I32, w.I32}}
	tRegex  = w.FuncType{Params: []w.ValType{w.I32, w.I32, w.I32}, Results: []w.ValType{w.I32}}
	i32Only = []w.ValType{w.I32}
)

// Compile returns the WebAssembly module for p. The module exports memory,
// unet_abi_version, unet_manifest, unet_alloc and unet_eval, and imports
// unet.regex_match only when p has regexes.
func Compile(p *lang.Program) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("wasmgen: nil program")
	}
	man, err := manifest(p)
	if err != nil {
		return nil, err
	}
	g := &gen{
		prog:    p,
		mod:     w.NewModule(),
		data:    newData(dataBase),
		helpers: map[string]uint32{},
		stride:  uint32(abi.SlotSize * len(p.Fields)),
	}
	manPtr := g.data.bytes(man)

	if len(p.Regexes) > 0 {
		g.regexFn = g.mod.ImportFunc(abi.ImportModule, abi.ImportRegexMatch, tRegex)
		g.hasRegex = true
	}

	version := g.mod.DeclareFunc(tI32)
	manFn := g.mod.DeclareFunc(tI64)
	alloc := g.mod.DeclareFunc(tAlloc)
	eval := g.mod.DeclareFunc(tEval)
	driver := g.mod.DeclareFunc(tDriver)
	verdicts := make([]uint32, len(p.Rules))
	for i := range verdicts {
		verdicts[i] = g.mod.DeclareFunc(tVerdict)
	}

	var c w.Code
	c.I32Const(abi.Version)
	g.mod.SetBody(version, nil, &c)

	c = w.Code{}
	c.I64Const(int64(manPtr)<<32 | int64(len(man)))
	g.mod.SetBody(manFn, nil, &c)

	for i, r := range p.Rules {
		if err := g.rule(verdicts[i], r); err != nil {
			return nil, fmt.Errorf("wasmgen: rule %q (%s): %w", r.Name, r.Pos, err)
		}
	}
	// Table entry i is rule i's verdict function, for the driver.
	g.mod.Table(uint32(len(verdicts)))
	g.mod.Elem(0, verdicts)
	g.driverBody(driver)
	g.evalBody(eval, driver, len(p.Rules))

	// The heap starts after all data, including constants the rules added.
	heap := align(g.data.end(), 16)
	g.allocBody(alloc, heap)
	pages := (heap + pageSize - 1) / pageSize
	if pages == 0 {
		pages = 1
	}
	g.mod.Memory(pages, -1)
	g.mod.Data(dataBase, g.data.buf)

	g.mod.Export(abi.ExportMemory, w.ExportMemory, 0)
	g.mod.Export(abi.ExportABIVersion, w.ExportFunc, version)
	g.mod.Export(abi.ExportManifest, w.ExportFunc, manFn)
	g.mod.Export(abi.ExportAlloc, w.ExportFunc, alloc)
	g.mod.Export(abi.ExportEval, w.ExportFunc, eval)
	return g.mod.Encode()
}

// gen holds the state of one compilation.
type gen struct {
	prog     *lang.Program
	mod      *w.Module
	data     *data
	helpers  map[string]uint32 // helper name → function index, declared on first use
	stride   uint32
	regexFn  uint32
	hasRegex bool
	locals   []w.ValType // extra locals of the verdict function being built
}

// allocBody: every call returns the start of the heap (a call invalidates
// the previous buffer, so there is nothing to free), after growing memory
// to hold size bytes; 0 when memory cannot grow.
func (g *gen) allocBody(fn, heap uint32) {
	const size, need = 0, 1 // param, i64 local: pages needed
	var c w.Code
	// need = (heap + size + 65535) >> 16, in i64 so no size overflows.
	c.LocalGet(size).Op(w.I64ExtendI32U).I64Const(int64(heap) + pageSize - 1).Op(w.I64Add)
	c.I64Const(16).Op(w.I64ShrU).LocalSet(need)
	c.LocalGet(need).MemorySize().Op(w.I64ExtendI32U).Op(w.I64GtU)
	c.If(w.Void)
	c.LocalGet(need).MemorySize().Op(w.I64ExtendI32U).Op(w.I64Sub).Op(w.I32WrapI64)
	c.MemoryGrow().I32Const(-1).Op(w.I32Eq)
	c.If(w.Void)
	c.I32Const(0).Return()
	c.End()
	c.End()
	c.I32Const(int32(heap))
	g.mod.SetBody(fn, []w.ValType{w.I64}, &c)
}

// evalBody checks unet_eval's rule number (errBadRule when unknown) and
// runs the driver.
func (g *gen) evalBody(fn, driver uint32, rules int) {
	const rule, in, n, out = 0, 1, 2, 3
	var c w.Code
	c.LocalGet(rule).I32Const(int32(rules)).Op(w.I32GeU)
	returnIf(&c, errBadRule)
	c.LocalGet(rule).LocalGet(in).LocalGet(n).LocalGet(out).Call(driver)
	c.I32Const(0)
	g.mod.SetBody(fn, nil, &c)
}

func align(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }

// manifest returns the manifest JSON of p.
func manifest(p *lang.Program) ([]byte, error) {
	m := abi.Manifest{
		ABI:     abi.Version,
		Fields:  p.Fields,
		Regexes: p.Regexes,
		Rules:   make([]abi.Rule, len(p.Rules)),
	}
	if m.Fields == nil {
		m.Fields = []abi.Field{}
	}
	for i, r := range p.Rules {
		mr := abi.Rule{
			Name:   r.Name,
			File:   r.Pos.File,
			Line:   r.Pos.Line,
			Action: r.Action.Kind,
		}
		switch r.Action.Kind {
		case abi.ActionApply:
			mr.Template = r.Action.Template
		case abi.ActionAssert, abi.ActionSet:
			if r.Action.Target == nil {
				return nil, fmt.Errorf("wasmgen: rule %q: %s without a target", r.Name, r.Action.Kind)
			}
			mr.Target = r.Action.Target.Path
			switch v := r.Action.Value.(type) {
			case *lang.Literal:
				mr.Expected = &abi.Expected{Value: jsonValue(v.Value)}
			case *lang.FieldRef:
				mr.Expected = &abi.Expected{Field: v.Path}
			default:
				return nil, fmt.Errorf("wasmgen: rule %q: %s value is %T, want a literal or a field", r.Name, r.Action.Kind, r.Action.Value)
			}
		default:
			return nil, fmt.Errorf("wasmgen: rule %q: unknown action %q", r.Name, r.Action.Kind)
		}
		m.Rules[i] = mr
	}
	return json.Marshal(m)
}

// jsonValue is v as encoding/json renders it.
func jsonValue(v abi.Value) any {
	switch v.Kind {
	case abi.KindBool:
		return v.Number != 0
	case abi.KindNumber:
		return v.Number
	case abi.KindString:
		return v.Str
	case abi.KindList:
		l := make([]any, len(v.List))
		for i, e := range v.List {
			l[i] = jsonValue(e)
		}
		return l
	}
	return nil
}
