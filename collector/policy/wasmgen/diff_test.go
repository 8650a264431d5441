package wasmgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/internal/golden"
	"github.com/unet-project/unet/collector/policy/interp"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/record"
	"github.com/unet-project/unet/collector/policy/sandbox"
)

// The reference interpreter's golden cases (collector/policy/interp/testdata).
const interpTestdata = "../interp/testdata"

// loadSubjects reads nodes.json as the interpreter's golden test does.
func loadSubjects(t *testing.T) []record.Subject {
	t.Helper()
	subjects, err := golden.Subjects(filepath.Join(interpTestdata, "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	return subjects
}

// TestInterpGolden requires the compiled module, run in the production
// sandbox, to give the interpreter's verdict for every rule of every
// golden policy on every node.
func TestInterpGolden(t *testing.T) {
	subjects := loadSubjects(t)
	policies, err := filepath.Glob(filepath.Join(interpTestdata, "*.unet"))
	if err != nil || len(policies) == 0 {
		t.Fatalf("no policies in %s: %v", interpTestdata, err)
	}
	rt := newSandbox(t)
	for _, path := range policies {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := lang.Compile(map[string][]byte{name: src})
			if err != nil {
				t.Fatalf("%s does not compile:\n%v", name, err)
			}
			recs := make([][]abi.Value, len(subjects))
			for i, s := range subjects {
				recs[i] = record.Build(p.Fields, s)
			}
			if d := differential(t, rt, p, recs); d != "" {
				t.Error(d)
			}
		})
	}
}

// FuzzCompileVsInterp draws a policy and records from the input (see
// gen_test.go) and requires the module to validate and to give the
// interpreter's verdicts. Policies the checker refuses are skipped. The
// corpus is testdata/fuzz/FuzzCompileVsInterp.
func FuzzCompileVsInterp(f *testing.F) {
	rt := newSandbox(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &source{b: in}
		src := s.policy()
		file, err := lang.Parse("fuzz.unet", []byte(src))
		if err != nil {
			t.Fatalf("the generator wrote a policy that does not parse:\n%s\n%v", src, err)
		}
		p, err := lang.Check(file)
		if err != nil {
			t.Skip("refused by the checker")
		}
		if d := differential(t, rt, p, s.records(p.Fields)); d != "" {
			t.Fatalf("policy:\n%s\n%s", src, d)
		}
	})
}

// differential returns the differences between the module's verdicts and
// the interpreter's, "" when there are none.
func differential(t *testing.T, rt *sandbox.Runtime, p *lang.Program, recs [][]abi.Value) string {
	t.Helper()
	got := evalSandbox(t, rt, p, recs)
	var b strings.Builder
	for r, rule := range p.Rules {
		for i, rec := range recs {
			if want := interp.Eval(p, r, rec); got[r][i] != want {
				fmt.Fprintf(&b, "rule %s, record %d: compiled %s, interpreter %s; record:\n", rule.Name, i, got[r][i], want)
				for j, f := range p.Fields {
					fmt.Fprintf(&b, "  %s = %s\n", f.Path, show(rec[j]))
				}
			}
		}
	}
	return b.String()
}

func show(v abi.Value) string {
	switch v.Kind {
	case abi.KindNull:
		return "null"
	case abi.KindBool:
		return fmt.Sprint(v.Number != 0)
	case abi.KindNumber:
		return fmt.Sprint(v.Number)
	case abi.KindString:
		return fmt.Sprintf("%q", v.Str)
	case abi.KindList:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "{other}"
}
