package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/model"
)

// benchEngine is an engine over 10,000 nodes and 200 rules, a quarter of
// which apply to every node (the worst case for the verdicts kept), with
// no etcd for verdicts: what is measured is the engine's own work, the
// sandbox's included. bench/policy-eval measures the sandbox alone against
// the interpreter.
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	dir := b.TempDir()
	var src strings.Builder
	for i := range 200 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&src, "rule \"r%03d\":\nWHEN node.role == \"router\" AND location.path CONTAINS \"eu\"\nTHEN ASSERT node.version IS \"17.9.%d\"\n", i, i)
		case 1:
			fmt.Fprintf(&src, "rule \"r%03d\":\nWHEN node.name IS NOT NULL\nTHEN ASSERT custom_data.x%d IS %d\n", i, i, i)
		case 2:
			fmt.Fprintf(&src, "rule \"r%03d\":\nWHEN node.vendor == \"cisco\" AND node.name MATCHES /^n0[0-4]/\nTHEN APPLY \"t%d.j2\"\n", i, i)
		case 3:
			fmt.Fprintf(&src, "rule \"r%03d\":\nWHEN node.tags CONTAINS \"t%d\"\nTHEN SET custom_data.y TO %d\n", i, i%7, i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "gen.unet"), []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Dir = dir
	e, err := New(context.Background(), cfg, Dependencies{Store: desired.New(testsupport.Etcd(b), desired.DefaultConfig(), testsupport.Logger(b))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.rt.Close(context.Background()) })
	e.locations["eu"] = model.Location{Name: "eu", Kind: model.KindRegion}
	e.locations["par1"] = model.Location{Name: "par1", Kind: model.KindSite, Parent: "eu"}
	vendors := []model.Vendor{"cisco", "juniper", "arista"}
	roles := []model.Role{"router", "switch", "firewall"}
	for i := range 10000 {
		n := &model.Node{Name: fmt.Sprintf("n%05d", i), Vendor: vendors[i%3], Role: roles[i/3%3], Location: "par1",
			Version: "17.3.1", Tags: []string{fmt.Sprintf("t%d", i%7)}, Meta: model.Meta{Revision: int64(i + 1)}}
		e.nodes[n.Name] = n
	}
	e.ready = true
	e.reloadPolicies(context.Background()) // and a first evaluation
	return e
}

// BenchmarkEngineEvaluate is a full evaluation: 10,000 nodes × 200 rules.
func BenchmarkEngineEvaluate(b *testing.B) {
	e := benchEngine(b)
	b.ResetTimer()
	for b.Loop() {
		e.evaluate(context.Background(), nil, "bench")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(10000*200), "ns/rule/node")
}

// BenchmarkEngineEvaluateOneNode is the evaluation after one node changed.
func BenchmarkEngineEvaluateOneNode(b *testing.B) {
	e := benchEngine(b)
	b.ResetTimer()
	for b.Loop() {
		e.evaluate(context.Background(), []string{"n04242"}, "bench")
	}
}

// BenchmarkResultsPage is one page of the API's compliance list, from the
// middle of ~500,000 verdicts.
func BenchmarkResultsPage(b *testing.B) {
	e := benchEngine(b)
	b.ResetTimer()
	for b.Loop() {
		if items, _ := e.ResultsPage(Filter{Status: StatusViolation}, Cursor{Node: "n05000"}, 500); len(items) != 500 {
			b.Fatal(len(items))
		}
	}
}
