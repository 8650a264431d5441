package interp

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/internal/golden"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/record"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the interpreter")

func loadSubjects(t *testing.T) []record.Subject {
	t.Helper()
	subjects, err := golden.Subjects("testdata/nodes.json")
	if err != nil {
		t.Fatal(err)
	}
	return subjects
}

func TestGolden(t *testing.T) {
	subjects := loadSubjects(t)
	policies, err := filepath.Glob("testdata/*.unet")
	if err != nil || len(policies) == 0 {
		t.Fatalf("no policies in testdata: %v", err)
	}
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
			got := verdicts(p, name, subjects)
			golden := strings.TrimSuffix(path, ".unet") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the interpreter's verdicts (-update rewrites it):\n%s", golden, lineDiff(want, got))
			}
		})
	}
}

// verdicts renders the golden file of one policy: every rule on every
// subject.
func verdicts(p *lang.Program, name string, subjects []record.Subject) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Verdicts of %s on nodes.json by the reference interpreter: RULE, NODE, VERDICT\n", name)
	fmt.Fprintf(&b, "# [, actual, expected], tab-separated. go test ./collector/policy/interp -run Golden -update rewrites it.\n")
	recs := make([][]abi.Value, len(subjects))
	for i, s := range subjects {
		recs[i] = record.Build(p.Fields, s)
	}
	for ri, r := range p.Rules {
		vs := EvalBatch(p, ri, recs)
		for i, v := range vs {
			fmt.Fprintf(&b, "%s\t%s\t%s", r.Name, subjects[i].Node.Name, v)
			if v == abi.Violation {
				e := evaluator{prog: p, rec: recs[i]}
				fmt.Fprintf(&b, "\tactual=%s\texpected=%s", renderJSON(e.value(r.Action.Target)), renderJSON(e.value(r.Action.Value)))
			}
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func renderJSON(v abi.Value) string {
	out, err := json.Marshal(record.Render(v))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(out)
}

// lineDiff lists the lines that differ, position by position.
func lineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
