package wasmgen

import (
	"encoding/binary"
	"fmt"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	w "github.com/unet-project/unet/collector/policy/wasmgen/internal/wasm"
)

// A rule is a verdict function: its parameter (local 0) is the address
// of one record, its result the verdict. Conditions read slots as rec
// plus a constant offset, so a slot load is one instruction. One driver,
// shared by the rules, runs a rule's verdict function (through the
// table, entry = rule number) over a batch.
//
// The driver has no loop on purpose. The sandbox runs modules with
// wazero's WithCloseOnContextDone, which makes every loop header call out
// to Go (m.FailIfClosed) to see whether the module was closed: with a loop
// per record and byte loops in the helpers, the non-regex rules of
// bench/policy-eval cost ~280 ns per rule and node, against ~30 ns
// without that option and ~50 ns now. The driver splits the batch in halves
// recursively (depth log2(n/16)) down to at most 16 records, done by
// straight-line calls; helpers enter a loop only for long strings and
// lists.
const (
	lRec = 0 // verdict function: the record's address

	leafRecords = 16
)

var tVerdict = w.FuncType{Params: []w.ValType{w.I32}, Results: []w.ValType{w.I32}}

// rule emits the verdict function v of one rule.
func (g *gen) rule(v uint32, r *lang.Rule) error {
	g.locals = nil
	var c w.Code
	if err := g.verdict(&c, r); err != nil {
		return err
	}
	g.mod.SetBody(v, g.locals, &c)
	return nil
}

// driverBody emits driver(rule, in, n, out).
func (g *gen) driverBody(fn uint32) {
	const rule, in, n, out, h = 0, 1, 2, 3, 4
	typ := g.mod.Type(tVerdict)
	var c w.Code
	c.LocalGet(n).I32Const(leafRecords).Op(w.I32GtU)
	c.If(w.Void)
	// h = ((n >> 1) + 15) &^ 15: a multiple of 16, 16 <= h < n.
	c.LocalGet(n).I32Const(1).Op(w.I32ShrU).I32Const(leafRecords - 1).Op(w.I32Add)
	c.I32Const(-leafRecords).Op(w.I32And).LocalSet(h)
	c.LocalGet(rule).LocalGet(in).LocalGet(h).LocalGet(out).Call(fn)
	c.LocalGet(rule)
	c.LocalGet(in).LocalGet(h).I32Const(int32(g.stride)).Op(w.I32Mul).Op(w.I32Add)
	c.LocalGet(n).LocalGet(h).Op(w.I32Sub)
	c.LocalGet(out).LocalGet(h).Op(w.I32Add)
	c.Call(fn).Return()
	c.End()
	done := c.Block(w.Void)
	for k := range leafRecords {
		c.LocalGet(n).I32Const(int32(k)).Op(w.I32LeU).BrIf(done)
		c.LocalGet(out)
		c.LocalGet(in)
		if k > 0 {
			c.I32Const(int32(k) * int32(g.stride)).Op(w.I32Add)
		}
		c.LocalGet(rule).CallIndirect(typ)
		c.I32Store8(uint32(k))
	}
	c.End()
	g.mod.SetBody(fn, []w.ValType{w.I32}, &c)
}

// local adds a local of type t to the verdict function being built.
func (g *gen) local(t w.ValType) uint32 {
	g.locals = append(g.locals, t)
	return uint32(len(g.locals)) // after the parameter rec
}

// verdict leaves the rule's verdict for the record at rec on the stack.
func (g *gen) verdict(c *w.Code, r *lang.Rule) error {
	if err := g.cond(c, r.When); err != nil {
		return err
	}
	if r.Action.Kind == abi.ActionApply {
		// A true condition is 1, which is compliant; false is not applicable.
		return nil
	}
	if r.Action.Kind != abi.ActionAssert && r.Action.Kind != abi.ActionSet {
		return fmt.Errorf("unknown action %q", r.Action.Kind)
	}
	if r.Action.Target == nil {
		return fmt.Errorf("%s without a target", r.Action.Kind)
	}
	c.If(w.BlockI32)
	// violation (2) minus equal (1) is compliant.
	c.I32Const(int32(abi.Violation))
	if err := g.equalValue(c, r.Action.Target, r.Action.Value); err != nil {
		return err
	}
	c.Op(w.I32Sub)
	c.Else()
	c.I32Const(int32(abi.NotApplicable))
	c.End()
	return nil
}

// equalValue leaves 1 when field f equals v (a literal or a field) by the
// ABI's equality, where null equals null.
func (g *gen) equalValue(c *w.Code, f *lang.FieldRef, v lang.Expr) error {
	switch v := v.(type) {
	case *lang.Literal:
		if v.Value.Kind == abi.KindNull {
			g.kindIs(c, f, abi.KindNull)
			return nil
		}
		return g.eqLit(c, f, v.Value, false)
	case *lang.FieldRef:
		g.slotAddr(c, f)
		g.slotAddr(c, v)
		c.Call(g.helper(hSlotEq))
		return nil
	}
	return fmt.Errorf("expected value is %T, want a literal or a field", v)
}

// cond leaves 1 or 0 for a condition.
func (g *gen) cond(c *w.Code, e lang.Expr) error {
	switch e := e.(type) {
	case *lang.Logical:
		if err := g.cond(c, e.X); err != nil {
			return err
		}
		c.If(w.BlockI32)
		if e.Op == lang.And {
			if err := g.cond(c, e.Y); err != nil {
				return err
			}
			c.Else()
			c.I32Const(0)
		} else {
			c.I32Const(1)
			c.Else()
			if err := g.cond(c, e.Y); err != nil {
				return err
			}
		}
		c.End()
		return nil
	case *lang.Not:
		if err := g.cond(c, e.X); err != nil {
			return err
		}
		c.Op(w.I32Eqz)
		return nil
	case *lang.IsNull:
		g.kindIs(c, e.Field, abi.KindNull)
		if e.Negated {
			c.Op(w.I32Eqz)
		}
		return nil
	case *lang.Compare:
		return g.compare(c, e)
	case nil:
		return fmt.Errorf("missing condition")
	}
	return fmt.Errorf("%s: %T is not a condition", e.Position(), e)
}

func off(f *lang.FieldRef) uint32 { return uint32(f.Slot * abi.SlotSize) }

// kindIs leaves 1 when f's slot has kind k.
func (g *gen) kindIs(c *w.Code, f *lang.FieldRef, k abi.Kind) {
	c.LocalGet(lRec).I32Load(off(f) + offKind)
	if k == abi.KindNull {
		c.Op(w.I32Eqz)
		return
	}
	c.I32Const(int32(k)).Op(w.I32Eq)
}

// slotAddr leaves the address of f's slot in the current record.
func (g *gen) slotAddr(c *w.Code, f *lang.FieldRef) {
	c.LocalGet(lRec)
	if o := off(f); o != 0 {
		c.I32Const(int32(o)).Op(w.I32Add)
	}
}

// strArgs leaves the (address, length) of f's string or list.
func (g *gen) strArgs(c *w.Code, f *lang.FieldRef) {
	c.LocalGet(lRec).I32Load(off(f) + offVal)
	c.LocalGet(lRec).I32Load(off(f) + offLen)
}

// guard emits `cond && body`: cond has been emitted; body runs only when
// it is non-zero.
func guard(c *w.Code, body func() error) error {
	c.If(w.BlockI32)
	if err := body(); err != nil {
		return err
	}
	c.Else()
	c.I32Const(0)
	c.End()
	return nil
}

// eqLit leaves 1 when f equals the non-null literal v (kinds included);
// negate gives 1 when f has v's kind but another value.
func (g *gen) eqLit(c *w.Code, f *lang.FieldRef, v abi.Value, negate bool) error {
	g.kindIs(c, f, v.Kind)
	return guard(c, func() error {
		if err := g.eqLitBody(c, f, v); err != nil {
			return err
		}
		if negate {
			c.Op(w.I32Eqz)
		}
		return nil
	})
}

// eqLitBody leaves 1 when f, known to have v's kind, equals v.
func (g *gen) eqLitBody(c *w.Code, f *lang.FieldRef, v abi.Value) error {
	o := off(f)
	switch v.Kind {
	case abi.KindBool:
		c.LocalGet(lRec).I64Load(o + offVal).Op(w.I64Eqz)
		if v.Number != 0 {
			c.Op(w.I32Eqz)
		}
	case abi.KindNumber:
		c.LocalGet(lRec).F64Load(o + offVal).F64Const(v.Number).Op(w.F64Eq)
	case abi.KindString:
		c.LocalGet(lRec).I32Load(o + offLen)
		if len(v.Str) == 0 {
			c.Op(w.I32Eqz)
			return nil
		}
		c.I32Const(int32(len(v.Str))).Op(w.I32Eq)
		return guard(c, func() error {
			g.constEq(c, func() { c.LocalGet(lRec).I32Load(o + offVal) }, v.Str)
			return nil
		})
	case abi.KindList:
		g.strArgs(c, f)
		c.I32Const(int32(g.data.list(v.List))).I32Const(int32(len(v.List)))
		c.Call(g.helper(hListEq))
	default:
		return fmt.Errorf("cannot compare with a literal of kind %d", v.Kind)
	}
	return nil
}

// inlineMax is the longest constant compared inline; longer ones call
// memeq.
const inlineMax = 64

// constEq leaves 1 when the len(s) bytes at the address ptr leaves equal
// s. Short constants are compared inline, as 8-, 4-, 2- and 1-byte loads
// against immediates that read exactly the len(s) bytes: no call, no
// loop, no branch.
func (g *gen) constEq(c *w.Code, ptr func(), s string) {
	if len(s) == 0 {
		c.I32Const(1)
		return
	}
	if len(s) > inlineMax {
		ptr()
		c.I32Const(int32(g.data.str(s))).I32Const(int32(len(s))).Call(g.helper(hMemEq))
		return
	}
	p := g.local(w.I32)
	ptr()
	c.LocalSet(p)
	b := []byte(s)
	for off, first := 0, true; off < len(b); first = false {
		c.LocalGet(p)
		switch rest := len(b) - off; {
		case rest >= 8:
			c.I64Load(uint32(off)).I64Const(int64(binary.LittleEndian.Uint64(b[off:]))).Op(w.I64Eq)
			off += 8
		case rest >= 4:
			c.I32Load(uint32(off)).I32Const(int32(binary.LittleEndian.Uint32(b[off:]))).Op(w.I32Eq)
			off += 4
		case rest >= 2:
			c.I32Load16U(uint32(off)).I32Const(int32(binary.LittleEndian.Uint16(b[off:]))).Op(w.I32Eq)
			off += 2
		default:
			c.I32Load8U(uint32(off)).I32Const(int32(b[off])).Op(w.I32Eq)
			off++
		}
		if !first {
			c.Op(w.I32And)
		}
	}
}

// compare emits `field op value`. Reading null is false whatever the
// operator; so is comparing values of different kinds.
func (g *gen) compare(c *w.Code, e *lang.Compare) error {
	if e.Field == nil {
		return fmt.Errorf("%s: comparison without a field", e.At)
	}
	switch v := e.Value.(type) {
	case *lang.Literal:
		return g.compareLit(c, e.Op, e.Field, v.Value)
	case *lang.FieldRef:
		return g.compareFields(c, e.Op, e.Field, v)
	case *lang.RegexLit:
		if e.Op != lang.Matches {
			return fmt.Errorf("%s: %s with a regex", e.At, e.Op)
		}
		if !g.hasRegex || v.ID < 0 || v.ID >= len(g.prog.Regexes) {
			return fmt.Errorf("%s: regex %d not in the program's regexes", e.At, v.ID)
		}
		g.kindIs(c, e.Field, abi.KindString)
		return guard(c, func() error { return g.matches(c, off(e.Field), v.ID) })
	}
	return fmt.Errorf("%s: %s with a %T", e.At, e.Op, e.Value)
}

var orderOps = map[lang.CmpOp]struct{ f64, cmp byte }{
	lang.Lt: {w.F64Lt, w.I32LtS},
	lang.Le: {w.F64Le, w.I32LeS},
	lang.Gt: {w.F64Gt, w.I32GtS},
	lang.Ge: {w.F64Ge, w.I32GeS},
}

// canBe reports whether a field of static type t may hold kind k at run
// time (besides null); the host fills typed fields with their type only.
func canBe(t abi.Type, k abi.Kind) bool {
	switch t {
	case abi.TypeString:
		return k == abi.KindString
	case abi.TypeNumber:
		return k == abi.KindNumber
	case abi.TypeBool:
		return k == abi.KindBool
	case abi.TypeList:
		return k == abi.KindList
	}
	return true
}

func (g *gen) compareLit(c *w.Code, op lang.CmpOp, f *lang.FieldRef, v abi.Value) error {
	if v.Kind == abi.KindNull && op != lang.In && op != lang.NotIn {
		// The field is null (false) or of another kind (false).
		c.I32Const(0)
		return nil
	}
	switch op {
	case lang.Eq, lang.Ne:
		if !canBe(f.Type, v.Kind) {
			c.I32Const(0)
			return nil
		}
		return g.eqLit(c, f, v, op == lang.Ne)
	case lang.Lt, lang.Le, lang.Gt, lang.Ge:
		ops := orderOps[op]
		if !canBe(f.Type, v.Kind) {
			c.I32Const(0)
			return nil
		}
		switch v.Kind {
		case abi.KindNumber:
			g.kindIs(c, f, abi.KindNumber)
			return guard(c, func() error {
				c.LocalGet(lRec).F64Load(off(f) + offVal).F64Const(v.Number).Op(ops.f64)
				return nil
			})
		case abi.KindString:
			g.kindIs(c, f, abi.KindString)
			return guard(c, func() error {
				g.strArgs(c, f)
				c.I32Const(int32(g.data.str(v.Str))).I32Const(int32(len(v.Str)))
				c.Call(g.helper(hMemCmp)).I32Const(0).Op(ops.cmp)
				return nil
			})
		}
		c.I32Const(0) // bools and lists have no order
		return nil
	case lang.Contains:
		return g.containsLit(c, f, v)
	case lang.In, lang.NotIn:
		if v.Kind != abi.KindList {
			return fmt.Errorf("%s needs a list, not kind %d", op, v.Kind)
		}
		if op == lang.In {
			return g.in(c, f, v.List)
		}
		// NOT IN reads the field: null is false, else not one of the values.
		g.kindIs(c, f, abi.KindNull)
		c.Op(w.I32Eqz)
		return guard(c, func() error {
			if err := g.in(c, f, v.List); err != nil {
				return err
			}
			c.Op(w.I32Eqz)
			return nil
		})
	case lang.Matches:
		return fmt.Errorf("MATCHES needs a regex")
	}
	return fmt.Errorf("unknown operator %d", op)
}

// containsLit: a string field contains v as a substring; a list field
// contains an element equal to v.
func (g *gen) containsLit(c *w.Code, f *lang.FieldRef, v abi.Value) error {
	asString := v.Kind == abi.KindString && canBe(f.Type, abi.KindString)
	asList := canBe(f.Type, abi.KindList)
	if !asString && !asList {
		c.I32Const(0)
		return nil
	}
	if asString {
		g.kindIs(c, f, abi.KindString)
		if err := guard(c, func() error {
			g.strArgs(c, f)
			c.I32Const(int32(g.data.str(v.Str))).I32Const(int32(len(v.Str)))
			c.Call(g.helper(hStrStr))
			return nil
		}); err != nil {
			return err
		}
		if !asList {
			return nil
		}
		c.If(w.BlockI32)
		c.I32Const(1)
		c.Else()
	}
	g.kindIs(c, f, abi.KindList)
	if err := guard(c, func() error {
		g.strArgs(c, f)
		c.I32Const(int32(g.data.slot(v)))
		c.Call(g.helper(hListContains))
		return nil
	}); err != nil {
		return err
	}
	if asString {
		c.End()
	}
	return nil
}

// in leaves 1 when f equals one of vs. Values are grouped by kind so the
// slot's kind is tested once per group; within a group each value is one
// inline comparison and a br_if out.
func (g *gen) in(c *w.Code, f *lang.FieldRef, vs []abi.Value) error {
	var order []abi.Kind
	groups := map[abi.Kind][]abi.Value{}
	for _, v := range vs {
		switch v.Kind {
		case abi.KindBool, abi.KindNumber, abi.KindString, abi.KindList:
			if !canBe(f.Type, v.Kind) {
				continue
			}
			if _, ok := groups[v.Kind]; !ok {
				order = append(order, v.Kind)
			}
			groups[v.Kind] = append(groups[v.Kind], v)
		}
		// Null reads as false and other equals nothing: they never match.
	}
	if len(order) == 0 {
		c.I32Const(0)
		return nil
	}
	found := c.Block(w.BlockI32)
	c.I32Const(1) // the result if a br_if below leaves the block
	for _, k := range order {
		g.kindIs(c, f, k)
		if err := guard(c, func() error {
			hit := c.Block(w.BlockI32)
			c.I32Const(1)
			for _, v := range groups[k] {
				if err := g.eqLitBody(c, f, v); err != nil {
					return err
				}
				c.BrIf(hit)
			}
			c.Drop().I32Const(0)
			c.End()
			return nil
		}); err != nil {
			return err
		}
		c.BrIf(found)
	}
	c.Drop().I32Const(0)
	c.End()
	return nil
}

// compareFields emits `a op b` for two fields of the record.
func (g *gen) compareFields(c *w.Code, op lang.CmpOp, a, b *lang.FieldRef) error {
	switch op {
	case lang.Eq:
		// slot_eq is false across kinds; null == null is excluded here.
		g.kindIs(c, a, abi.KindNull)
		c.Op(w.I32Eqz)
		return guard(c, func() error {
			g.slotAddr(c, a)
			g.slotAddr(c, b)
			c.Call(g.helper(hSlotEq))
			return nil
		})
	case lang.Ne:
		g.kindIs(c, a, abi.KindNull)
		c.Op(w.I32Eqz)
		return guard(c, func() error {
			c.LocalGet(lRec).I32Load(off(a) + offKind)
			c.LocalGet(lRec).I32Load(off(b) + offKind)
			c.Op(w.I32Eq)
			return guard(c, func() error {
				g.slotAddr(c, a)
				g.slotAddr(c, b)
				c.Call(g.helper(hSlotEq)).Op(w.I32Eqz)
				return nil
			})
		})
	case lang.Lt, lang.Le, lang.Gt, lang.Ge:
		g.slotAddr(c, a)
		g.slotAddr(c, b)
		c.Call(g.helper(hSlotOrder))
		// slot_order gives -1, 0, 1, or 2 when unordered (null, kinds
		// differ, NaN): only -1/0/1 may satisfy an operator.
		switch op {
		case lang.Lt:
			c.I32Const(-1).Op(w.I32Eq)
		case lang.Gt:
			c.I32Const(1).Op(w.I32Eq)
		case lang.Le: // -1 or 0: r+1 in [0, 1]
			c.I32Const(1).Op(w.I32Add).I32Const(1).Op(w.I32LeU)
		case lang.Ge: // 0 or 1
			c.I32Const(1).Op(w.I32LeU)
		}
		return nil
	case lang.Contains:
		g.slotAddr(c, a)
		g.slotAddr(c, b)
		c.Call(g.helper(hContains))
		return nil
	}
	return fmt.Errorf("%s with a field on the right", op)
}
