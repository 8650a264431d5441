package lang

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

// FuzzParse feeds arbitrary bytes to Parse and Check: they must never
// panic, errors must be Diagnostics with positions inside the file, and a
// Program that checks must be consistent (every slot and regex ID in
// range, each field's path at its slot). The seed corpus is
// testdata/fuzz/FuzzParse plus the error cases of testdata/errors.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("testdata/errors/*.unet")
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("f.unet", src)
		if file == nil {
			t.Fatal("Parse returned no file")
		}
		checkDiagnostics(t, err, src)
		p, err := Check(file)
		checkDiagnostics(t, err, src)
		if err != nil {
			if p != nil {
				t.Fatal("Check returned a Program with errors")
			}
			return
		}
		for _, r := range p.Rules {
			walk(t, p, r.When)
			if r.Action.Target != nil {
				walk(t, p, r.Action.Target)
			}
			if r.Action.Value != nil {
				walk(t, p, r.Action.Value)
			}
		}
	})
}

func checkDiagnostics(t *testing.T, err error, src []byte) {
	t.Helper()
	if err == nil {
		return
	}
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) == 0 {
		t.Fatalf("error %v is not a non-empty Diagnostics", err)
	}
	for _, d := range ds {
		if d.Pos.File != "f.unet" || d.Pos.Line < 1 || d.Pos.Col < 1 || d.Msg == "" {
			t.Fatalf("bad diagnostic %+v", d)
		}
		if _, ok := sourceLine(src, d.Pos.Line); !ok {
			t.Fatalf("diagnostic %v past the end of the source", d)
		}
	}
	_ = ds.Render(func(string) []byte { return src })
}

// walk checks the slots and regex IDs the checker assigned.
func walk(t *testing.T, p *Program, e Expr) {
	t.Helper()
	switch e := e.(type) {
	case *Logical:
		walk(t, p, e.X)
		walk(t, p, e.Y)
	case *Not:
		walk(t, p, e.X)
	case *IsNull:
		walk(t, p, e.Field)
	case *Compare:
		walk(t, p, e.Field)
		walk(t, p, e.Value)
	case *FieldRef:
		if e.Slot < 0 || e.Slot >= len(p.Fields) || p.Fields[e.Slot].Path != e.Path || p.Fields[e.Slot].Type != e.Type {
			t.Fatalf("field %s has slot %d of %v", e.Path, e.Slot, p.Fields)
		}
	case *RegexLit:
		if e.ID < 0 || e.ID >= len(p.Regexes) || p.Regexp(e.ID) == nil {
			t.Fatalf("regex %q has ID %d of %d", e.Pattern, e.ID, len(p.Regexes))
		}
	case *Literal:
		if e.Value.Kind > abi.KindList {
			t.Fatalf("literal of kind %d", e.Value.Kind)
		}
	default:
		t.Fatalf("unexpected %T", e)
	}
}
