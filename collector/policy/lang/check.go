package lang

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/unet-project/unet/collector/policy/abi"
)

// Check resolves and type-checks parsed files into one Program: rules in
// file order then source order, each field once in Program.Fields in the
// order rules first use it (conditions left to right, then the action's
// target, then its value), each distinct regex once in Program.Regexes.
// It reports every error of every file as Diagnostics and returns a nil
// Program then.
func Check(files ...*File) (*Program, error) {
	c := &checker{
		prog:    &Program{Fields: []abi.Field{}, Regexes: []abi.Regex{}},
		slots:   map[string]int{},
		regexes: map[abi.Regex]int{},
		names:   map[string]Pos{},
	}
	for _, f := range files {
		for _, r := range f.Rules {
			c.rule(r)
		}
	}
	if err := c.errs.err(fileNames(files)); err != nil {
		return nil, err
	}
	return c.prog, nil
}

// Regexp returns regex id of the program compiled. Check compiles every
// regex once; a Program assembled by hand compiles on each call (and
// panics on a pattern that does not compile, which Check would refuse).
func (p *Program) Regexp(id int) *regexp.Regexp {
	if id < len(p.regexps) && p.regexps[id] != nil {
		return p.regexps[id]
	}
	return regexp.MustCompile(goPattern(p.Regexes[id]))
}

// goPattern is the Go syntax of a manifest regex: the flags become a
// (?flags) prefix.
func goPattern(r abi.Regex) string {
	if r.Flags == "" {
		return r.Pattern
	}
	return "(?" + r.Flags + ")" + r.Pattern
}

func fileNames(files []*File) []string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	return names
}

type checker struct {
	errs    Diagnostics
	prog    *Program
	slots   map[string]int
	regexes map[abi.Regex]int
	names   map[string]Pos
}

func (c *checker) errorf(p Pos, format string, args ...any) {
	c.errs.add(p, fmt.Sprintf(format, args...))
}

func (c *checker) rule(r *Rule) {
	if first, dup := c.names[r.Name]; dup {
		if r.Name == fmt.Sprintf("%s:%d", r.Pos.File, r.Pos.Line) {
			// Two unnamed rules on one line: the name is not the user's.
			c.errorf(r.Pos, "this rule and the one at %s are both named %s after their line: name one (rule \"name\": WHEN …) or start it on a line of its own", first, r.Name)
		} else {
			c.errorf(r.Pos, "rule name %q is already used by the rule at %s", r.Name, first)
		}
	} else {
		c.names[r.Name] = r.Pos
	}
	c.cond(r.When)
	a := &r.Action
	switch a.Kind {
	case abi.ActionAssert:
		c.assign("ASSERT", a.Target, c.field(a.Target), a.Value)
	case abi.ActionSet:
		targetOK := c.field(a.Target)
		if targetOK && !strings.HasPrefix(a.Target.Path, CustomDataPrefix) {
			c.errorf(a.Target.At, "SET can only change custom_data.* fields; %s is not custom data", a.Target.Path)
		}
		c.assign("SET", a.Target, targetOK, a.Value)
	}
	c.prog.Rules = append(c.prog.Rules, r)
}

// assign checks the value of ASSERT target IS value or SET target TO
// value: a literal or a field whose type can equal the target's.
func (c *checker) assign(verb string, target *FieldRef, targetOK bool, value Expr) {
	switch v := value.(type) {
	case *RegexLit:
		c.errorf(v.At, "%s takes a value, not a regex: test the regex in the condition with MATCHES", verb)
	case *FieldRef:
		if c.field(v) && targetOK && !compatible(target.Type, v.Type) {
			c.errorf(v.At, "%s %s (%s) cannot be %s (%s)", verb, target.Path, target.Type, v.Path, v.Type)
		}
	case *Literal:
		if !targetOK || v.Value.Kind == abi.KindNull {
			return // null: a field can be missing, and equals null then
		}
		c.literalFits(target, v, verb+" "+target.Path)
	}
}

// literalFits checks that literal v has target's type, elements included.
func (c *checker) literalFits(target *FieldRef, v *Literal, what string) bool {
	lt := kindType(v.Value.Kind)
	if !compatible(target.Type, lt) {
		c.errorf(v.At, "%s: %s is a %s, %s is a %s", what, target.Path, target.Type, describe(v.Value), lt)
		return false
	}
	if lt == abi.TypeList {
		return c.elementsFit(target, v, what)
	}
	return true
}

// elementsFit checks the elements of list literal v against the element
// type of list field f.
func (c *checker) elementsFit(f *FieldRef, v *Literal, what string) bool {
	info, _ := Lookup(f.Path)
	if info.elem == "" {
		return true
	}
	for _, e := range v.Value.List {
		if et := kindType(e.Kind); et != info.elem && e.Kind != abi.KindNull {
			c.errorf(v.At, "%s: %s holds %ss, the list holds %s (a %s)", what, f.Path, info.elem, describe(e), et)
			return false
		}
	}
	return true
}

func (c *checker) cond(e Expr) {
	switch e := e.(type) {
	case *Logical:
		c.cond(e.X)
		c.cond(e.Y)
	case *Not:
		c.cond(e.X)
	case *IsNull:
		c.field(e.Field)
	case *Compare:
		c.compare(e)
	default:
		// The parser builds no other condition; a hand-made AST might.
		c.errorf(e.Position(), "not a condition")
	}
}

func (c *checker) compare(e *Compare) {
	fieldOK := c.field(e.Field)
	f := e.Field
	var vt abi.Type // the value's type; "" when unknown after an error
	switch v := e.Value.(type) {
	case *FieldRef:
		if c.field(v) {
			vt = v.Type
		}
	case *Literal:
		vt = kindType(v.Value.Kind)
		if v.Value.Kind == abi.KindNull {
			switch e.Op {
			case Eq:
				c.errorf(v.At, "a comparison with null is always false: write %s IS NULL", f.Path)
			case Ne:
				c.errorf(v.At, "a comparison with null is always false: write %s IS NOT NULL", f.Path)
			default:
				c.errorf(v.At, "%s with null is always false: null only goes with IS NULL", e.Op)
			}
			return
		}
	case *RegexLit:
		if e.Op != Matches {
			c.errorf(v.At, "a regex only goes with MATCHES, not %s", e.Op)
			return
		}
		c.regex(v)
	}
	if !fieldOK {
		return
	}
	switch e.Op {
	case Eq, Ne:
		if vt == "" {
			return
		}
		if !compatible(f.Type, vt) {
			c.errorf(e.At, "cannot compare %s (%s) with %s (%s)", f.Path, f.Type, describeExpr(e.Value), vt)
			return
		}
		if l, ok := e.Value.(*Literal); ok && vt == abi.TypeList {
			c.elementsFit(f, l, e.Op.String())
		}
	case Lt, Le, Gt, Ge:
		if f.Type != abi.TypeNumber && f.Type != abi.TypeString && f.Type != abi.TypeAny {
			c.errorf(e.At, "%s orders numbers and strings; %s is a %s", e.Op, f.Path, f.Type)
			return
		}
		if vt == "" {
			return
		}
		if vt != abi.TypeNumber && vt != abi.TypeString && vt != abi.TypeAny {
			c.errorf(e.Value.Position(), "%s orders numbers and strings; %s is a %s", e.Op, describeExpr(e.Value), vt)
			return
		}
		if !compatible(f.Type, vt) {
			c.errorf(e.At, "cannot compare %s (%s) with %s (%s)", f.Path, f.Type, describeExpr(e.Value), vt)
		}
	case Contains:
		c.contains(e, vt)
	case Matches:
		if f.Type != abi.TypeString && f.Type != abi.TypeAny {
			c.errorf(e.At, "MATCHES needs a string field; %s is a %s", f.Path, f.Type)
			return
		}
		if _, ok := e.Value.(*RegexLit); !ok {
			hint := ""
			if l, ok := e.Value.(*Literal); ok && l.Value.Kind == abi.KindString {
				hint = fmt.Sprintf(": write /%s/", strings.ReplaceAll(l.Value.Str, "/", `\/`))
			}
			c.errorf(e.Value.Position(), "MATCHES needs a regex literal /…/, not %s%s", describeExpr(e.Value), hint)
		}
	case In, NotIn:
		c.in(e)
	}
}

// contains: a substring of a string field, or an element of a list field.
func (c *checker) contains(e *Compare, vt abi.Type) {
	f := e.Field
	if l, ok := e.Value.(*Literal); ok && l.Value.Kind == abi.KindList {
		c.errorf(e.Value.Position(), "CONTAINS takes one value, not a list: combine conditions with OR, or use IN")
		return
	}
	switch f.Type {
	case abi.TypeString:
		if vt != "" && vt != abi.TypeString && vt != abi.TypeAny {
			c.errorf(e.Value.Position(), "%s is a string: CONTAINS looks for a substring, and %s is a %s", f.Path, describeExpr(e.Value), vt)
		}
	case abi.TypeList:
		info, _ := Lookup(f.Path)
		if vt != "" && vt != abi.TypeAny && info.elem != "" && vt != info.elem {
			c.errorf(e.Value.Position(), "%s holds %ss, %s is a %s", f.Path, info.elem, describeExpr(e.Value), vt)
		}
	case abi.TypeAny:
		// Known at run time only: a string or a list, else false.
	default:
		c.errorf(e.At, "CONTAINS needs a string or list field; %s is a %s", f.Path, f.Type)
	}
}

// in: the field is a scalar and the list's elements have its type.
func (c *checker) in(e *Compare) {
	f := e.Field
	l, ok := e.Value.(*Literal)
	if !ok || l.Value.Kind != abi.KindList {
		c.errorf(e.Value.Position(), "%s needs a list literal [ … ]", e.Op)
		return
	}
	if f.Type == abi.TypeList {
		c.errorf(e.At, "%s compares one value with each element of the list, and %s is a list: use CONTAINS", e.Op, f.Path)
		return
	}
	for _, v := range l.Value.List {
		vt := kindType(v.Kind)
		switch {
		case v.Kind == abi.KindNull:
			c.errorf(l.At, "null in an %s list never matches: test IS NULL instead", e.Op)
			return
		case !compatible(f.Type, vt):
			c.errorf(l.At, "%s is a %s, and the %s list holds %s (a %s)", f.Path, f.Type, e.Op, describe(v), vt)
			return
		}
	}
}

// field resolves a field against the catalogue and gives it a slot.
func (c *checker) field(f *FieldRef) bool {
	info, ok := Lookup(f.Path)
	if !ok {
		c.unknownField(f)
		return false
	}
	f.Type = info.Type
	slot, seen := c.slots[f.Path]
	if !seen {
		slot = len(c.prog.Fields)
		c.slots[f.Path] = slot
		c.prog.Fields = append(c.prog.Fields, abi.Field{Path: f.Path, Type: info.Type})
	}
	f.Slot = slot
	return true
}

func (c *checker) unknownField(f *FieldRef) {
	switch p := strings.TrimSuffix(f.Path, "."); p {
	case strings.TrimSuffix(CustomDataPrefix, "."):
		c.errorf(f.At, "custom_data needs a path: custom_data.KEY or custom_data.KEY.SUBKEY")
		return
	case strings.TrimSuffix(ExtraPrefix, "."):
		c.errorf(f.At, "derived.extra needs the name of a value: derived.extra.NAME")
		return
	}
	if s := suggest(f.Path); s != "" {
		c.errorf(f.At, "unknown field %s (did you mean %s?)", f.Path, s)
		return
	}
	if sib := siblings(f.Path); sib != nil {
		parent := f.Path[:strings.LastIndexByte(f.Path, '.')]
		c.errorf(f.At, "unknown field %s (the fields of %s are %s)", f.Path, parent, strings.Join(sib, ", "))
		return
	}
	c.errorf(f.At, "unknown field %s (fields start with node., location., derived. or custom_data.)", f.Path)
}

// regex checks that a regex compiles and gives it an ID. The x flag is
// applied here: Program.Regexes holds the pattern without its whitespace
// and comments, and flags without x.
func (c *checker) regex(r *RegexLit) {
	re := abi.Regex{Pattern: r.Pattern, Flags: r.Flags}
	if strings.Contains(r.Flags, "x") {
		re.Pattern = stripExtended(r.Pattern)
		re.Flags = strings.ReplaceAll(r.Flags, "x", "")
	}
	if id, ok := c.regexes[re]; ok {
		r.ID = id
		return
	}
	compiled, err := regexp.Compile(goPattern(re))
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		c.errorf(r.At, "invalid regex: %s", msg)
		return
	}
	r.ID = len(c.prog.Regexes)
	c.regexes[re] = r.ID
	c.prog.Regexes = append(c.prog.Regexes, re)
	c.prog.regexps = append(c.prog.regexps, compiled)
}

// stripExtended removes what the x flag makes insignificant: whitespace
// and # comments outside character classes, unless escaped. A regex
// literal is one line, so a comment runs to the end of the pattern.
func stripExtended(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\' && i+1 < len(p):
			b.WriteByte(ch)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			b.WriteByte(ch)
			if ch == ']' {
				inClass = false
			}
		case ch == '[':
			inClass = true
			b.WriteByte(ch)
			// A ] right after [ or [^ is a literal, not the end.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
		case ch == '#':
			return b.String()
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// compatible reports whether values of static types a and b can be equal.
func compatible(a, b abi.Type) bool { return a == b || a == abi.TypeAny || b == abi.TypeAny }

// kindType is the static type of a literal; null has none ("null").
func kindType(k abi.Kind) abi.Type {
	switch k {
	case abi.KindString:
		return abi.TypeString
	case abi.KindNumber:
		return abi.TypeNumber
	case abi.KindBool:
		return abi.TypeBool
	case abi.KindList:
		return abi.TypeList
	}
	return "null"
}

func describeExpr(e Expr) string {
	switch e := e.(type) {
	case *FieldRef:
		return e.Path
	case *Literal:
		return describe(e.Value)
	case *RegexLit:
		return "/" + e.Pattern + "/" + e.Flags
	}
	return "?"
}

// describe writes a literal the way a policy spells it.
func describe(v abi.Value) string {
	switch v.Kind {
	case abi.KindNull:
		return "null"
	case abi.KindBool:
		return strconv.FormatBool(v.Number != 0)
	case abi.KindNumber:
		return strconv.FormatFloat(v.Number, 'g', -1, 64)
	case abi.KindString:
		return strconv.Quote(v.Str)
	case abi.KindList:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = describe(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "(object)"
}
