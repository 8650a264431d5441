// Package interp is the reference interpreter of the policy language: a
// plain walk over the checked AST that gives the verdict of one rule on
// one record. It is written to be obviously right, not fast; the compiled
// WASM modules (collector/policy/wasmgen) are tested against it.
//
// Semantics (policies-wasm/ABI.md §Verdicts, POLICY.md §Semantics):
//
//   - A comparison that reads null, on either side, is false; IS NULL and
//     IS NOT NULL are the only tests that see null. NOT inverts whatever
//     its operand gave, so NOT (f == 1) is true where f is null.
//   - Comparing values of different kinds is false, for every operator
//     including !=: f != v is true only where f and v have the same kind
//     and differ. (Only custom_data fields, of type any, can meet another
//     kind at run time; the checker refuses the rest.)
//   - Equality: numbers by value, strings byte for byte, bools, lists
//     element by element with the same rules, where null elements equal
//     each other; a KindOther value (a JSON object, a list in a list)
//     equals nothing, not even itself.
//   - Ordering: numbers, and strings bytewise; other kinds are false.
//   - CONTAINS: a substring of a string field (the operand a string), or
//     an element of a list field equal to the operand.
//   - MATCHES: the string field matches the regex (Go RE2, flags as a
//     (?ims) prefix); a field of another kind is false.
//   - IN: the field equals one of the list's values. NOT IN: the field is
//     not null and IN is false, so a value of another kind than the
//     list's is NOT IN it.
//   - ASSERT f IS v and SET f TO v are compliant where f equals v (here
//     null equals null, so ASSERT f IS null holds where f is missing),
//     else a violation; APPLY is compliant. Where the condition is false
//     the verdict is not applicable.
//
// # Golden cases
//
// testdata holds the cases both this package and the code generator's
// tests can run: NAME.unet is a policy file, nodes.json the subjects every
// policy is evaluated on ({"now": time, "nodes": [{"node": model.Node,
// "location_path": [model.Location, root first, the node's last],
// "derived": model.DeviceState}]}), and NAME.golden the verdicts, one line
// per rule and node in rule then node order:
//
//	RULE<TAB>NODE<TAB>VERDICT[<TAB>actual=JSON<TAB>expected=JSON]
//
// with actual and expected on violations only; lines starting with # are
// comments. `go test -run Golden -update` rewrites the golden files from
// this interpreter.
package interp

import (
	"strings"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

// Eval returns the verdict of rule number rule of p on one record, laid
// out as p.Fields. A rule that cannot run (no such rule, a record shorter
// than the layout, an AST that Check would not have produced) is an
// error, as a trapping module's would be.
func Eval(p *lang.Program, rule int, rec []abi.Value) (v abi.Verdict) {
	if rule < 0 || rule >= len(p.Rules) || len(rec) < len(p.Fields) {
		return abi.Error
	}
	defer func() {
		if recover() != nil {
			v = abi.Error
		}
	}()
	r := p.Rules[rule]
	e := evaluator{prog: p, rec: rec}
	if !e.cond(r.When) {
		return abi.NotApplicable
	}
	switch r.Action.Kind {
	case abi.ActionApply:
		return abi.Compliant
	case abi.ActionAssert, abi.ActionSet:
		if equal(e.value(r.Action.Target), e.value(r.Action.Value)) {
			return abi.Compliant
		}
		return abi.Violation
	}
	return abi.Error
}

// EvalBatch returns the verdicts of one rule on many records, in order,
// the way a module's unet_eval does.
func EvalBatch(p *lang.Program, rule int, recs [][]abi.Value) []abi.Verdict {
	out := make([]abi.Verdict, len(recs))
	for i, rec := range recs {
		out[i] = Eval(p, rule, rec)
	}
	return out
}

type evaluator struct {
	prog *lang.Program
	rec  []abi.Value
}

// value is a literal's value or a field's value in the record.
func (e evaluator) value(x lang.Expr) abi.Value {
	switch x := x.(type) {
	case *lang.Literal:
		return x.Value
	case *lang.FieldRef:
		return e.rec[x.Slot]
	}
	panic("not a value") // Eval turns it into an error verdict
}

func (e evaluator) cond(x lang.Expr) bool {
	switch x := x.(type) {
	case *lang.Logical:
		if x.Op == lang.And {
			return e.cond(x.X) && e.cond(x.Y)
		}
		return e.cond(x.X) || e.cond(x.Y)
	case *lang.Not:
		return !e.cond(x.X)
	case *lang.IsNull:
		return (e.rec[x.Field.Slot].Kind == abi.KindNull) != x.Negated
	case *lang.Compare:
		return e.compare(x)
	}
	panic("not a condition")
}

func (e evaluator) compare(x *lang.Compare) bool {
	f := e.rec[x.Field.Slot]
	if f.Kind == abi.KindNull {
		return false
	}
	if x.Op == lang.Matches {
		re := x.Value.(*lang.RegexLit)
		return f.Kind == abi.KindString && e.prog.Regexp(re.ID).MatchString(f.Str)
	}
	v := e.value(x.Value)
	switch x.Op {
	case lang.In:
		return in(f, v.List)
	case lang.NotIn:
		return !in(f, v.List)
	}
	if v.Kind == abi.KindNull {
		return false
	}
	switch x.Op {
	case lang.Eq:
		return equal(f, v)
	case lang.Ne:
		return f.Kind == v.Kind && !equal(f, v)
	case lang.Lt, lang.Le, lang.Gt, lang.Ge:
		c, ok := order(f, v)
		if !ok {
			return false
		}
		switch x.Op {
		case lang.Lt:
			return c < 0
		case lang.Le:
			return c <= 0
		case lang.Gt:
			return c > 0
		}
		return c >= 0
	case lang.Contains:
		switch f.Kind {
		case abi.KindString:
			return v.Kind == abi.KindString && strings.Contains(f.Str, v.Str)
		case abi.KindList:
			return in(v, f.List)
		}
		return false
	}
	panic("unknown operator")
}

// in reports whether v equals one of list's values.
func in(v abi.Value, list []abi.Value) bool {
	for _, e := range list {
		if equal(v, e) {
			return true
		}
	}
	return false
}

// equal is the ABI's equality: same kind, and numbers by value, strings
// byte for byte, bools, null equal to null, lists element by element;
// KindOther equals nothing.
func equal(a, b abi.Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case abi.KindNull:
		return true
	case abi.KindBool:
		return (a.Number != 0) == (b.Number != 0)
	case abi.KindNumber:
		return a.Number == b.Number
	case abi.KindString:
		return a.Str == b.Str
	case abi.KindList:
		if len(a.List) != len(b.List) {
			return false
		}
		for i := range a.List {
			if !equal(a.List[i], b.List[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// order compares two numbers or two strings: -1, 0 or 1, and false when
// the values have no order (other kinds, kinds that differ, NaN).
func order(a, b abi.Value) (int, bool) {
	if a.Kind != b.Kind {
		return 0, false
	}
	switch a.Kind {
	case abi.KindNumber:
		switch {
		case a.Number < b.Number:
			return -1, true
		case a.Number > b.Number:
			return 1, true
		case a.Number == b.Number:
			return 0, true
		}
	case abi.KindString:
		return strings.Compare(a.Str, b.Str), true
	}
	return 0, false
}
