package wasmgen

import (
	"context"
	"encoding/binary"
	"math"
	"regexp"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

// module is a compiled program instantiated in wazero with a regex_match
// host function over the program's regexes: the tests' own small host,
// independent of collector/policy/sandbox.
type module struct {
	mod    api.Module
	fields int
	alloc  api.Function
	eval   api.Function
}

func load(t testing.TB, p *lang.Program) *module {
	t.Helper()
	bin, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return loadBinary(t, p, bin)
}

func loadBinary(t testing.TB, p *lang.Program, bin []byte) *module {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(64).WithCloseOnContextDone(true)) // as the sandbox runs modules
	t.Cleanup(func() { r.Close(ctx) })
	res := make([]*regexp.Regexp, len(p.Regexes))
	for i, re := range p.Regexes {
		pat := re.Pattern
		if re.Flags != "" {
			pat = "(?" + re.Flags + ")" + pat
		}
		res[i] = regexp.MustCompile(pat)
	}
	_, err := r.NewHostModuleBuilder(abi.ImportModule).NewFunctionBuilder().
		WithFunc(func(ctx context.Context, m api.Module, id, ptr, n uint32) uint32 {
			b, ok := m.Memory().Read(ptr, n)
			if !ok || int(id) >= len(res) {
				panic("regex_match: bad arguments")
			}
			if res[id].Match(b) {
				return 1
			}
			return 0
		}).Export(abi.ImportRegexMatch).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := r.Instantiate(ctx, bin)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return &module{mod: mod, fields: len(p.Fields), alloc: mod.ExportedFunction(abi.ExportAlloc), eval: mod.ExportedFunction(abi.ExportEval)}
}

// run evaluates rule on recs and returns the verdicts.
func (m *module) run(t testing.TB, rule int, recs [][]abi.Value) []abi.Verdict {
	t.Helper()
	ctx := context.Background()
	size := encodedSize(m.fields, recs)
	res, err := m.alloc.Call(ctx, uint64(size))
	if err != nil {
		t.Fatalf("unet_alloc: %v", err)
	}
	base := uint32(res[0])
	if base == 0 || base%8 != 0 {
		t.Fatalf("unet_alloc(%d) = %d", size, base)
	}
	buf := make([]byte, size)
	out := encode(buf, base, m.fields, recs)
	for i := range len(recs) {
		buf[out+i] = 0xff // the module must overwrite every byte
	}
	if !m.mod.Memory().Write(base, buf) {
		t.Fatalf("write of %d bytes at %d outside memory", size, base)
	}
	res, err = m.eval.Call(ctx, uint64(rule), uint64(base), uint64(len(recs)), uint64(base)+uint64(out))
	if err != nil {
		t.Fatalf("unet_eval: %v", err)
	}
	if res[0] != 0 {
		t.Fatalf("unet_eval returned %d", res[0])
	}
	v, _ := m.mod.Memory().Read(base+uint32(out), uint32(len(recs)))
	verdicts := make([]abi.Verdict, len(recs))
	for i, b := range v {
		verdicts[i] = abi.Verdict(b)
	}
	return verdicts
}

func encodedSize(fields int, recs [][]abi.Value) int {
	n := 0
	for _, rec := range recs {
		n += fields*abi.SlotSize + 1
		for _, v := range rec {
			n += valueSize(v)
		}
	}
	return n
}

func valueSize(v abi.Value) int {
	switch v.Kind {
	case abi.KindString:
		return len(v.Str)
	case abi.KindList:
		n := len(v.List) * abi.SlotSize
		for _, e := range v.List {
			n += valueSize(e) // strings only: lists in lists become other
		}
		return n
	}
	return 0
}

// encode lays recs out as ABI.md §Records says (records, then list
// elements and string bytes, then verdicts) and returns the verdicts'
// offset in buf.
func encode(buf []byte, base uint32, fields int, recs [][]abi.Value) int {
	next := fields * abi.SlotSize * len(recs)
	var put func(slot []byte, v abi.Value, inList bool)
	put = func(slot []byte, v abi.Value, inList bool) {
		kind, length, payload := v.Kind, uint32(0), uint64(0)
		switch v.Kind {
		case abi.KindBool:
			if v.Number != 0 {
				payload = 1
			}
		case abi.KindNumber:
			payload = math.Float64bits(v.Number)
		case abi.KindString:
			length, payload = uint32(len(v.Str)), uint64(base)+uint64(next)
			next += copy(buf[next:], v.Str)
		case abi.KindList:
			if inList {
				kind = abi.KindOther
				break
			}
			at := next
			next += len(v.List) * abi.SlotSize
			length, payload = uint32(len(v.List)), uint64(base)+uint64(at)
			for i, e := range v.List {
				put(buf[at+i*abi.SlotSize:], e, true)
			}
		case abi.KindNull:
		default:
			kind = abi.KindOther
		}
		binary.LittleEndian.PutUint32(slot[0:], uint32(kind))
		binary.LittleEndian.PutUint32(slot[4:], length)
		binary.LittleEndian.PutUint64(slot[8:], payload)
	}
	for r, rec := range recs {
		for f, v := range rec {
			put(buf[(r*fields+f)*abi.SlotSize:], v, false)
		}
	}
	return next
}

// builder makes Programs by hand: fields get slots in order of first use.
type builder struct {
	p *lang.Program
}

func newBuilder() *builder { return &builder{p: &lang.Program{}} }

func (b *builder) field(path string, typ abi.Type) *lang.FieldRef {
	for i, f := range b.p.Fields {
		if f.Path == path {
			return &lang.FieldRef{Path: path, Type: f.Type, Slot: i}
		}
	}
	b.p.Fields = append(b.p.Fields, abi.Field{Path: path, Type: typ})
	return &lang.FieldRef{Path: path, Type: typ, Slot: len(b.p.Fields) - 1}
}

func (b *builder) regex(pattern, flags string) *lang.RegexLit {
	for i, r := range b.p.Regexes {
		if r.Pattern == pattern && r.Flags == flags {
			return &lang.RegexLit{Pattern: pattern, Flags: flags, ID: i}
		}
	}
	b.p.Regexes = append(b.p.Regexes, abi.Regex{Pattern: pattern, Flags: flags})
	return &lang.RegexLit{Pattern: pattern, Flags: flags, ID: len(b.p.Regexes) - 1}
}

func (b *builder) rule(name string, when lang.Expr, act lang.Action) {
	b.p.Rules = append(b.p.Rules, &lang.Rule{
		Name: name, Pos: lang.Pos{File: "t.unet", Line: len(b.p.Rules) + 1, Col: 1},
		When: when, Action: act,
	})
}

func lit(v abi.Value) *lang.Literal { return &lang.Literal{Value: v} }

func cmpe(f *lang.FieldRef, op lang.CmpOp, v lang.Expr) *lang.Compare {
	return &lang.Compare{Op: op, Field: f, Value: v}
}

func and(x, y lang.Expr) lang.Expr { return &lang.Logical{Op: lang.And, X: x, Y: y} }
func or(x, y lang.Expr) lang.Expr  { return &lang.Logical{Op: lang.Or, X: x, Y: y} }
func not(x lang.Expr) lang.Expr    { return &lang.Not{X: x} }

func isNull(f *lang.FieldRef, negated bool) lang.Expr {
	return &lang.IsNull{Field: f, Negated: negated}
}

func apply(template string) lang.Action {
	return lang.Action{Kind: abi.ActionApply, Template: template}
}

func assert(f *lang.FieldRef, v lang.Expr) lang.Action {
	return lang.Action{Kind: abi.ActionAssert, Target: f, Value: v}
}

func set(f *lang.FieldRef, v lang.Expr) lang.Action {
	return lang.Action{Kind: abi.ActionSet, Target: f, Value: v}
}
