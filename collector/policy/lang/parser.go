package lang

import (
	"fmt"
	"strings"

	"github.com/unet-project/unet/collector/policy/abi"
)

// File is one parsed policy file.
type File struct {
	Name  string
	Rules []*Rule
}

// Parse parses one policy file. On syntax errors it returns the rules that
// parsed and a Diagnostics error listing every error found: after an error
// the parser skips to the next WHEN or `rule` keyword and goes on, so one
// run reports the errors of every rule. Rule names are set (an unnamed
// rule is FILE:LINE of its WHEN); fields are not resolved until Check.
func Parse(filename string, src []byte) (*File, error) {
	p := &parser{file: filename}
	p.lx = newLexer(filename, src, &p.errs)
	p.next()
	f := &File{Name: filename}
	for p.tok.kind != tEOF {
		if r := p.rule(); r != nil {
			f.Rules = append(f.Rules, r)
		}
	}
	return f, p.errs.err(nil)
}

type parser struct {
	file string
	lx   *lexer
	tok  token
	errs Diagnostics
}

// bailout unwinds the parse of one rule after its first syntax error.
type bailout struct{}

func (p *parser) next() { p.tok = p.lx.next() }

// fail reports "expected WHAT, found TOKEN" at the current token and
// abandons the rule. An invalid token was reported by the lexer already:
// a second message about it would only repeat the first.
func (p *parser) fail(format string, args ...any) {
	if p.tok.kind != tIllegal {
		p.errs.add(p.tok.pos, fmt.Sprintf(format, args...)+", found "+p.tok.describe())
	}
	panic(bailout{})
}

// failAt reports an error that is not about the current token.
func (p *parser) failAt(pos Pos, msg string) {
	p.errs.add(pos, msg)
	panic(bailout{})
}

// is reports whether the current token is keyword kw (upper case).
func (p *parser) is(kw string) bool { return isKeyword(p.tok, kw) }

func isKeyword(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

// keywords cannot be field names; a field is always dotted, so this only
// keeps "WHEN x == 1 THEN" from reading THEN as a field.
var keywords = map[string]bool{
	"RULE": true, "WHEN": true, "THEN": true, "AND": true, "OR": true, "NOT": true,
	"IS": true, "NULL": true, "IN": true, "CONTAINS": true, "MATCHES": true,
	"ASSERT": true, "SET": true, "TO": true, "APPLY": true, "TRUE": true, "FALSE": true,
}

func (p *parser) atRuleStart() bool { return p.is("WHEN") || p.is("RULE") }

// rule parses one rule, or reports its first syntax error and skips to
// the start of the next one and returns nil.
func (p *parser) rule() (r *Rule) {
	defer func() {
		if e := recover(); e != nil {
			if _, ok := e.(bailout); !ok {
				panic(e)
			}
			r = nil
			p.sync()
		}
	}()
	r = &Rule{Pos: p.tok.pos}
	named := false
	if p.is("RULE") {
		p.next()
		if p.tok.kind != tString {
			p.fail("expected the rule's name as a string after rule")
		}
		if p.tok.str == "" {
			p.failAt(p.tok.pos, "a rule name must not be empty")
		}
		r.Name, named = p.tok.str, true
		p.next()
		if p.tok.kind != tColon {
			p.fail("expected \":\" after the rule's name")
		}
		p.next()
	}
	if !p.is("WHEN") {
		if named {
			p.fail("expected WHEN after rule %q:", r.Name)
		}
		p.fail("expected a rule (WHEN … THEN … or rule \"name\": WHEN …)")
	}
	if !named {
		r.Name = fmt.Sprintf("%s:%d", p.file, p.tok.pos.Line)
	}
	p.next()
	r.When = p.or()
	if !p.is("THEN") {
		p.fail("expected THEN after the condition")
	}
	p.next()
	r.Action = p.action()
	if p.tok.kind != tEOF && !p.atRuleStart() {
		p.fail("expected the end of the rule after its action (a rule has one action: write another rule for another action)")
	}
	return r
}

// sync skips to the next token that can start a rule.
func (p *parser) sync() {
	for p.tok.kind != tEOF && !p.atRuleStart() {
		p.next()
	}
}

func (p *parser) or() Expr {
	x := p.and()
	for p.is("OR") {
		at := p.tok.pos
		p.next()
		x = &Logical{At: at, Op: Or, X: x, Y: p.and()}
	}
	return x
}

func (p *parser) and() Expr {
	x := p.not()
	for p.is("AND") {
		at := p.tok.pos
		p.next()
		x = &Logical{At: at, Op: And, X: x, Y: p.not()}
	}
	return x
}

func (p *parser) not() Expr {
	if p.is("NOT") {
		at := p.tok.pos
		p.next()
		return &Not{At: at, X: p.not()}
	}
	return p.primary()
}

var cmpTokens = map[tokKind]CmpOp{tEq: Eq, tNe: Ne, tLt: Lt, tLe: Le, tGt: Gt, tGe: Ge}

func (p *parser) primary() Expr {
	if p.tok.kind == tLParen {
		open := p.tok.pos
		p.next()
		x := p.or()
		if p.tok.kind != tRParen {
			p.fail("expected \")\" to close the \"(\" at %d:%d", open.Line, open.Col)
		}
		p.next()
		return x
	}
	if !p.isField() {
		p.fail("expected a condition (a field, NOT or \"(\")")
	}
	f := p.field()
	at := p.tok.pos
	switch {
	case p.is("IS"):
		p.next()
		neg := false
		if p.is("NOT") {
			neg = true
			p.next()
		}
		if !p.is("NULL") {
			p.fail("expected NULL after IS%s (a condition compares with ==; IS is for IS NULL and ASSERT)", map[bool]string{true: " NOT"}[neg])
		}
		p.next()
		return &IsNull{At: at, Field: f, Negated: neg}
	case p.is("NOT"):
		p.next()
		if !p.is("IN") {
			p.fail("expected IN after %s NOT", f.Path)
		}
		p.next()
		return &Compare{At: at, Op: NotIn, Field: f, Value: p.list()}
	case p.is("IN"):
		p.next()
		return &Compare{At: at, Op: In, Field: f, Value: p.list()}
	case p.is("CONTAINS"):
		p.next()
		return &Compare{At: at, Op: Contains, Field: f, Value: p.value("CONTAINS")}
	case p.is("MATCHES"):
		p.next()
		return &Compare{At: at, Op: Matches, Field: f, Value: p.value("MATCHES")}
	}
	op, ok := cmpTokens[p.tok.kind]
	if !ok {
		p.fail("expected an operator after %s (==, !=, <, <=, >, >=, CONTAINS, MATCHES, IN, NOT IN, IS NULL)", f.Path)
	}
	p.next()
	return &Compare{At: at, Op: op, Field: f, Value: p.value(op.String())}
}

func (p *parser) isField() bool {
	return p.tok.kind == tIdent && !keywords[strings.ToUpper(p.tok.text)]
}

func (p *parser) field() *FieldRef {
	f := &FieldRef{At: p.tok.pos, Path: p.tok.text}
	p.next()
	return f
}

// value parses the right-hand side of op: a literal, a regex, a list or a
// field.
func (p *parser) value(after string) Expr {
	t := p.tok
	switch {
	case t.kind == tString || t.kind == tNumber || p.is("TRUE") || p.is("FALSE") || p.is("NULL"):
		return &Literal{At: t.pos, Value: p.scalar()}
	case t.kind == tRegex:
		p.next()
		return &RegexLit{At: t.pos, Pattern: t.str, Flags: t.flags}
	case t.kind == tLBrack:
		return p.list()
	case p.isField():
		return p.field()
	}
	p.fail("expected a value after %s (a string, number, true, false, null, /regex/, [list] or field)", after)
	return nil
}

// scalar parses a string, number, true, false or null.
func (p *parser) scalar() abi.Value {
	t := p.tok
	var v abi.Value
	switch {
	case t.kind == tString:
		v = abi.String(t.str)
	case t.kind == tNumber:
		v = abi.Number(t.num)
	case p.is("TRUE"):
		v = abi.Bool(true)
	case p.is("FALSE"):
		v = abi.Bool(false)
	case p.is("NULL"):
		v = abi.Null()
	default:
		p.fail("expected a list element (a string, number, true, false or null)")
	}
	p.next()
	return v
}

// list parses [v, v, …] (a trailing comma is allowed) into a Literal of
// kind list. Elements are scalars: the record layout has no lists of
// lists, and a field inside a list literal would make it no literal.
func (p *parser) list() *Literal {
	if p.tok.kind != tLBrack {
		p.fail("expected a list [ … ]")
	}
	lit := &Literal{At: p.tok.pos, Value: abi.List()}
	p.next()
	for p.tok.kind != tRBrack {
		lit.Value.List = append(lit.Value.List, p.scalar())
		if p.tok.kind == tComma {
			p.next()
			continue
		}
		if p.tok.kind != tRBrack {
			p.fail("expected \",\" or \"]\" in the list")
		}
	}
	p.next()
	return lit
}

func (p *parser) action() Action {
	a := Action{Pos: p.tok.pos}
	switch {
	case p.is("ASSERT"):
		a.Kind = abi.ActionAssert
		p.next()
		if !p.isField() {
			p.fail("expected the field to check after ASSERT")
		}
		a.Target = p.field()
		if !p.is("IS") {
			p.fail("expected IS after ASSERT %s", a.Target.Path)
		}
		p.next()
		a.Value = p.value("IS")
	case p.is("SET"):
		a.Kind = abi.ActionSet
		p.next()
		if !p.isField() {
			p.fail("expected the field to set after SET")
		}
		a.Target = p.field()
		if !p.is("TO") {
			p.fail("expected TO after SET %s", a.Target.Path)
		}
		p.next()
		a.Value = p.value("TO")
	case p.is("APPLY"):
		a.Kind = abi.ActionApply
		p.next()
		if p.tok.kind != tString {
			p.fail("expected the template's name as a string after APPLY")
		}
		if p.tok.str == "" {
			p.failAt(p.tok.pos, "the template name must not be empty")
		}
		a.Template = p.tok.str
		p.next()
	default:
		p.fail("expected ASSERT, SET or APPLY after THEN")
	}
	return a
}
