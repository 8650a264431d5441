package sandbox

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/unet-project/unet/collector/policy/abi"
)

const wasiModule = "wasi_snapshot_preview1"

// load compiles and checks a module and instantiates its first instance,
// which reads the manifest and then goes to the pool.
func (rt *Runtime) load(ctx context.Context, hash string, wasm []byte) (*Module, error) {
	compiled, err := rt.wr.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("policy module %s: does not compile: %w", shortHash(hash), err)
	}
	m := &Module{
		rt:       rt,
		hash:     hash,
		compiled: compiled,
		refs:     1,
		pool:     make(chan *instance, rt.cfg.Parallelism),
	}
	fail := func(format string, args ...any) (*Module, error) {
		m.close(ctx)
		return nil, fmt.Errorf("policy module %s: %s", shortHash(hash), fmt.Sprintf(format, args...))
	}
	exports := compiled.ExportedFunctions()
	_, m.goGuest = exports[abi.ExportInitialize]
	if _, command := exports["_start"]; command && !m.goGuest {
		return fail("exports _start: it is a WASI command, not a reactor (build Go policies with -buildmode=c-shared)")
	}
	if err := checkImports(compiled.ImportedFunctions(), compiled.ImportedMemories(), m.goGuest); err != nil {
		return fail("%v", err)
	}
	if err := checkExports(exports, compiled.ExportedMemories()); err != nil {
		return fail("%v", err)
	}

	th, unlock := lockThread()
	defer unlock()
	inst, err := m.newInstance(ctx, th)
	if err != nil {
		return fail("%v", err)
	}
	defer func() {
		if inst != nil {
			inst.close(ctx)
		}
	}()
	res, err := inst.call(ctx, th, inst.mod.ExportedFunction(abi.ExportABIVersion), rt.cfg.CallTimeout)
	if err != nil {
		return fail("%s: %v", abi.ExportABIVersion, err)
	}
	if v := api.DecodeI32(res[0]); v != abi.Version {
		return fail("%s returned %d, this host implements ABI version %d", abi.ExportABIVersion, v, abi.Version)
	}
	res, err = inst.call(ctx, th, inst.mod.ExportedFunction(abi.ExportManifest), rt.cfg.CallTimeout)
	if err != nil {
		return fail("%s: %v", abi.ExportManifest, err)
	}
	ptr, size := uint32(res[0]>>32), uint32(res[0])
	if size > abi.MaxManifestBytes {
		return fail("manifest of %d bytes, more than the limit of %d", size, abi.MaxManifestBytes)
	}
	raw, ok := inst.mem.Read(ptr, size)
	if !ok {
		return fail("manifest at %#x+%d is outside memory (%d bytes)", ptr, size, inst.mem.Size())
	}
	manifest, err := abi.ParseManifest(raw) // copies what it keeps
	if err != nil {
		return fail("%v", err)
	}
	m.manifest = *manifest
	m.regexes = make([]*regexp.Regexp, len(manifest.Regexes))
	for i, re := range manifest.Regexes {
		if m.regexes[i], err = re.Compile(); err != nil {
			return fail("manifest regex %d: %v", i, err)
		}
	}
	m.put(ctx, inst)
	inst = nil
	return m, nil
}

var (
	sigRegexMatch = signature{[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}}
	wantExports   = []struct {
		name string
		sig  signature
	}{
		{abi.ExportABIVersion, signature{nil, []api.ValueType{api.ValueTypeI32}}},
		{abi.ExportManifest, signature{nil, []api.ValueType{api.ValueTypeI64}}},
		{abi.ExportAlloc, signature{[]api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}}},
		{abi.ExportEval, signature{[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}}},
	}
)

type signature struct{ params, results []api.ValueType }

func sigOf(f api.FunctionDefinition) signature { return signature{f.ParamTypes(), f.ResultTypes()} }

func (s signature) equal(o signature) bool {
	return slices.Equal(s.params, o.params) && slices.Equal(s.results, o.results)
}

func (s signature) String() string {
	names := func(ts []api.ValueType) string {
		n := make([]string, len(ts))
		for i, t := range ts {
			n[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(n, ", ") + ")"
	}
	return names(s.params) + " -> " + names(s.results)
}

// checkImports allows unet.regex_match, and WASI for Go guests only: a
// generated module needs nothing else, and an import the host does not
// provide would fail at instantiation with a less clear message.
func checkImports(funcs []api.FunctionDefinition, mems []api.MemoryDefinition, goGuest bool) error {
	for _, f := range funcs {
		mod, name, _ := f.Import()
		switch {
		case mod == abi.ImportModule && name == abi.ImportRegexMatch:
			if s := sigOf(f); !s.equal(sigRegexMatch) {
				return fmt.Errorf("imports %s.%s as %s, want %s", mod, name, s, sigRegexMatch)
			}
		case mod == wasiModule && goGuest:
		case mod == wasiModule:
			return fmt.Errorf("imports %s.%s, which only Go wasip1 modules (those exporting %s) may import", mod, name, abi.ExportInitialize)
		default:
			return fmt.Errorf("imports %s.%s: a policy module may import only %s.%s (and WASI for Go modules)", mod, name, abi.ImportModule, abi.ImportRegexMatch)
		}
	}
	for _, m := range mems {
		mod, name, _ := m.Import()
		return fmt.Errorf("imports memory %s.%s: a policy module must define and export its own", mod, name)
	}
	return nil
}

func checkExports(funcs map[string]api.FunctionDefinition, mems map[string]api.MemoryDefinition) error {
	if _, ok := mems[abi.ExportMemory]; !ok {
		return fmt.Errorf("does not export its memory as %q", abi.ExportMemory)
	}
	for _, w := range wantExports {
		f, ok := funcs[w.name]
		if !ok {
			return fmt.Errorf("does not export function %s", w.name)
		}
		if s := sigOf(f); !s.equal(w.sig) {
			return fmt.Errorf("exports %s as %s, want %s", w.name, s, w.sig)
		}
	}
	return nil
}
