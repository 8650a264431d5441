package wasmgen

import (
	"regexp/syntax"
	"unicode"
	"unicode/utf8"

	"github.com/unet-project/unet/collector/policy/abi"
	w "github.com/unet-project/unet/collector/policy/wasmgen/internal/wasm"
)

// A MATCHES costs a host call (regex_match), ~10 to 100 times the cost
// of the rest of a typical condition. Most policy regexes are anchored
// literals with a tail (/^core-[0-9]+/, /^10\.3\./): the literal part is
// checked in WASM first, and only a string that passes it goes to the
// host; a regex that is nothing but a literal (/^ge-/, /dc1$/, /abc/) is
// decided in WASM alone.

type litCheck uint8

const (
	checkNone     litCheck = iota // every string goes to the host
	checkPrefix                   // the string starts with lit
	checkSuffix                   // the string ends with lit
	checkContains                 // lit occurs in the string
	checkEqual                    // the string is lit
	checkFirst                    // the string's first byte is in first
)

// regexPlan is how a regex is evaluated: a literal check, and whether the
// check alone decides (exact) or a string that passes it still needs the
// host.
type regexPlan struct {
	check litCheck
	lit   string
	first *[256]bool
	exact bool
}

// planRegex analyses r. Literals that fold case (the i flag) are not
// used. Go's regexp reads a string as UTF-8, invalid bytes as U+FFFD; a
// literal of valid runes other than U+FFFD matches exactly where its
// UTF-8 bytes occur, since a lead or ASCII byte always starts a rune.
func planRegex(r abi.Regex) regexPlan {
	pat := r.Pattern
	if r.Flags != "" {
		pat = "(?" + r.Flags + ")" + pat
	}
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return regexPlan{} // the host reports it
	}
	re = re.Simplify()
	lit := func(e *syntax.Regexp) (string, bool) {
		for e.Op == syntax.OpCapture && len(e.Sub) == 1 {
			e = e.Sub[0]
		}
		if e.Op != syntax.OpLiteral || e.Flags&syntax.FoldCase != 0 {
			return "", false
		}
		for _, r := range e.Rune {
			if !utf8.ValidRune(r) || r == utf8.RuneError {
				return "", false
			}
		}
		return string(e.Rune), true
	}
	switch re.Op {
	case syntax.OpEmptyMatch:
		return regexPlan{check: checkContains, exact: true}
	case syntax.OpLiteral, syntax.OpCapture:
		if s, ok := lit(re); ok {
			return regexPlan{check: checkContains, lit: s, exact: true}
		}
		return regexPlan{}
	case syntax.OpConcat:
	default:
		return regexPlan{}
	}
	subs := re.Sub
	begin := subs[0].Op == syntax.OpBeginText
	end := subs[len(subs)-1].Op == syntax.OpEndText
	mid := subs
	if begin {
		mid = mid[1:]
	}
	if end {
		mid = mid[:len(mid)-1]
	}
	if len(mid) == 0 {
		if begin && end {
			return regexPlan{check: checkEqual, exact: true} // ^$
		}
		return regexPlan{}
	}
	if len(mid) == 1 {
		if s, ok := lit(mid[0]); ok {
			switch {
			case begin && end:
				return regexPlan{check: checkEqual, lit: s, exact: true}
			case begin:
				return regexPlan{check: checkPrefix, lit: s, exact: true}
			case end:
				return regexPlan{check: checkSuffix, lit: s, exact: true}
			}
		}
	}
	// A filter only: the cheapest necessary condition.
	if s, ok := lit(mid[0]); ok && begin && s != "" {
		return regexPlan{check: checkPrefix, lit: s}
	}
	if s, ok := lit(mid[len(mid)-1]); ok && end && s != "" {
		return regexPlan{check: checkSuffix, lit: s}
	}
	best := ""
	for _, e := range mid {
		if s, ok := lit(e); ok && len(s) > len(best) {
			best = s
		}
	}
	if best != "" {
		return regexPlan{check: checkContains, lit: best}
	}
	if begin {
		var set [256]bool
		if nullable, ok := firstBytes(&set, mid); ok && !nullable {
			return regexPlan{check: checkFirst, first: &set}
		}
	}
	return regexPlan{}
}

// firstBytes adds to set every byte a match of the concatenation es can
// start with, and reports whether es can match the empty string; ok is
// false for what it does not analyse. Any rune from U+0080 up counts as
// every byte from 0x80 up: invalid bytes read as U+FFFD.
func firstBytes(set *[256]bool, es []*syntax.Regexp) (nullable, ok bool) {
	for _, e := range es {
		n, ok := firstByte(set, e)
		if !ok {
			return false, false
		}
		if !n {
			return false, true
		}
	}
	return true, true
}

func firstByte(set *[256]bool, e *syntax.Regexp) (nullable, ok bool) {
	addRune := func(r rune) {
		if r < utf8.RuneSelf {
			set[r] = true
			return
		}
		for b := 0x80; b < 256; b++ {
			set[b] = true
		}
	}
	switch e.Op {
	case syntax.OpEmptyMatch:
		return true, true
	case syntax.OpLiteral:
		if len(e.Rune) == 0 {
			return true, true
		}
		r := e.Rune[0]
		addRune(r)
		if e.Flags&syntax.FoldCase != 0 {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				addRune(f)
			}
		}
		return false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(e.Rune); i += 2 {
			lo, hi := e.Rune[i], e.Rune[i+1]
			for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
				set[r] = true
			}
			if hi >= utf8.RuneSelf {
				addRune(hi)
			}
		}
		return false, true
	case syntax.OpCapture:
		return firstBytes(set, e.Sub)
	case syntax.OpConcat:
		return firstBytes(set, e.Sub)
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range e.Sub {
			n, ok := firstByte(set, sub)
			if !ok {
				return false, false
			}
			nullable = nullable || n
		}
		return nullable, true
	case syntax.OpStar, syntax.OpQuest:
		_, ok := firstBytes(set, e.Sub)
		return true, ok
	case syntax.OpPlus:
		return firstBytes(set, e.Sub)
	case syntax.OpRepeat:
		n, ok := firstBytes(set, e.Sub)
		return n || e.Min == 0, ok
	}
	return false, false
}

// matches leaves 1 when the string (ptr, len) at slot offset o of the
// record matches regex id, the slot being known to hold a string.
func (g *gen) matches(c *w.Code, o uint32, id int) error {
	plan := planRegex(g.prog.Regexes[id])
	host := func() error {
		c.I32Const(int32(id))
		c.LocalGet(lRec).I32Load(o + offVal)
		c.LocalGet(lRec).I32Load(o + offLen)
		c.Call(g.regexFn)
		return nil
	}
	if plan.check == checkNone {
		return host()
	}
	n := int32(len(plan.lit))
	switch plan.check {
	case checkEqual:
		c.LocalGet(lRec).I32Load(o + offLen).I32Const(n).Op(w.I32Eq)
		if n > 0 {
			if err := guard(c, func() error {
				g.constEq(c, func() { c.LocalGet(lRec).I32Load(o + offVal) }, plan.lit)
				return nil
			}); err != nil {
				return err
			}
		}
	case checkPrefix, checkSuffix:
		if n == 0 {
			c.I32Const(1)
			break
		}
		c.LocalGet(lRec).I32Load(o + offLen).I32Const(n).Op(w.I32GeU)
		if err := guard(c, func() error {
			g.constEq(c, func() {
				c.LocalGet(lRec).I32Load(o + offVal)
				if plan.check == checkSuffix {
					c.LocalGet(lRec).I32Load(o + offLen).Op(w.I32Add).I32Const(n).Op(w.I32Sub)
				}
			}, plan.lit)
			return nil
		}); err != nil {
			return err
		}
	case checkFirst:
		// A table of 256 flags in the data segment, indexed by the byte.
		var table [256]byte
		for b, in := range plan.first {
			if in {
				table[b] = 1
			}
		}
		at := int32(g.data.bytes(table[:]))
		c.LocalGet(lRec).I32Load(o + offLen)
		if err := guard(c, func() error {
			c.LocalGet(lRec).I32Load(o + offVal).I32Load8U(0).I32Load8U(uint32(at))
			return nil
		}); err != nil {
			return err
		}
	case checkContains:
		if n == 0 {
			c.I32Const(1)
			break
		}
		c.LocalGet(lRec).I32Load(o + offVal).LocalGet(lRec).I32Load(o + offLen)
		c.I32Const(int32(g.data.str(plan.lit))).I32Const(n).Call(g.helper(hStrStr))
	}
	if plan.exact {
		return nil
	}
	return guard(c, host)
}
