package wasmgen

import (
	"strings"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/interp"
)

// TestLengths drives the helpers through their unrolled parts and their
// loops: strings and lists from empty to several times the unroll
// lengths, differing at every kind of position, against the interpreter.
func TestLengths(t *testing.T) {
	p := check(t, `WHEN custom_data.x == custom_data.y THEN APPLY "eq"
WHEN custom_data.x < custom_data.y THEN APPLY "lt"
WHEN custom_data.x >= custom_data.y THEN APPLY "ge"
WHEN custom_data.x CONTAINS custom_data.y THEN APPLY "contains"
WHEN custom_data.x CONTAINS "needle-in-a-haystack" THEN APPLY "const"
WHEN custom_data.x == "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz" THEN APPLY "long"
WHEN custom_data.x != "abcdefghijklm" THEN APPLY "short"
`)
	base := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 8)
	var vals []abi.Value
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 78, 100, 127, 128, 129, 200} {
		s := base[:n]
		vals = append(vals, abi.String(s))
		for _, at := range []int{0, n / 2, n - 1} {
			if n > 0 {
				b := []byte(s)
				b[at] = '#'
				vals = append(vals, abi.String(string(b)))
				b[at] = '\xff'
				vals = append(vals, abi.String(string(b)))
			}
		}
		vals = append(vals, abi.String(s[:n/2]+"needle-in-a-haystack"+s[n/2:]))
		vals = append(vals, abi.String(s+"needle-in-a-haystac"))
		list := make([]abi.Value, n%20)
		for i := range list {
			list[i] = abi.String(base[i : i+3])
		}
		vals = append(vals, abi.List(list...))
	}
	vals = append(vals, abi.String("cde"), abi.String(base[70:75]), abi.String(base[190:200]), abi.String("abcdefghijklm"))
	var recs [][]abi.Value
	for _, x := range vals {
		for _, y := range vals {
			recs = append(recs, []abi.Value{x, y})
		}
	}
	if p.Fields[0].Path != "custom_data.x" {
		t.Fatalf("fields %v", p.Fields)
	}
	rt := newSandbox(t)
	// Batches of every size up to 70 and one large one exercise the
	// driver's halving and its 16-record leaves.
	for _, n := range append(seq(0, 70), len(recs)) {
		got := evalSandbox(t, rt, p, recs[:n])
		for r, rule := range p.Rules {
			for i, rec := range recs[:n] {
				if want := interp.Eval(p, r, rec); got[r][i] != want {
					t.Fatalf("batch of %d, rule %s, x=%q y=%q: compiled %s, interpreter %s", n, rule.Name, show(rec[0]), show(rec[1]), got[r][i], want)
				}
			}
		}
	}
}

func seq(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}
