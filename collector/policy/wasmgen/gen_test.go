package wasmgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/unet-project/unet/collector/policy/abi"
)

// Random policies and records for the differential fuzz test. Everything
// is drawn from the fuzz input, so a failing input replays exactly; small
// pools of strings and numbers make equal values (and so every verdict)
// likely.

// source reads choices from fuzz bytes; past the end it reads zeros.
type source struct {
	b []byte
	i int
}

func (s *source) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

func (s *source) intn(n int) int { return int(s.byte()) % n }

func pick[T any](s *source, xs []T) T { return xs[s.intn(len(xs))] }

type genField struct {
	path string
	typ  abi.Type
}

var genFields = []genField{
	{"node.role", abi.TypeString},
	{"node.name", abi.TypeString},
	{"location.path", abi.TypeString},
	{"node.tags", abi.TypeList},
	{"derived.lldp.neighbor_names", abi.TypeList},
	{"derived.uptime", abi.TypeNumber},
	{"derived.interfaces.errors_in_rate", abi.TypeNumber},
	{"derived.extra.cpu_5min", abi.TypeNumber},
	{"derived.reachable", abi.TypeBool},
	{"custom_data.x", abi.TypeAny},
	{"custom_data.bgp.asn", abi.TypeAny},
	{"custom_data.a.b.c", abi.TypeAny},
}

var (
	genStrings = []string{"", "a", "ab", "b", "abc", "bc", "router", "rout", "A", "\x00", "é", "aaaaaaaaab", "aaaaaaaa", "x y", "dc1/r1"}
	genNumbers = []float64{0, math.Copysign(0, -1), 1, -1, 1.5, 2, 10, 65001, 1e300, -1e-300}
	genRegexes = []string{"/^a/", "/b$/", "/^ro+uter$/i", "/(?:a|b)+/", "/[ab]/", "/^ a b/x", "/A/i", "/^$/", "/./s",
		"/^ab/", "/^a$/", "/ab/", "/^(a|B)/i", "/^é/", "/é$/", "/^a[bc]+$/", "/x y/", "/^[^a]/", "/(?m)^b/", "/^\\x00/", "/^$|a/"}
)

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			fmt.Fprintf(&b, `\x%02x`, c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

func number(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// literal writes a literal of type t (any: of any kind; list: of strings,
// or of mixed scalars for any).
func (s *source) literal(t abi.Type) string {
	switch t {
	case abi.TypeString:
		return quote(pick(s, genStrings))
	case abi.TypeNumber:
		return number(pick(s, genNumbers))
	case abi.TypeBool:
		return pick(s, []string{"true", "false"})
	case abi.TypeList:
		n := s.intn(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = s.literal(abi.TypeString)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	switch s.intn(8) {
	case 0, 1, 2:
		return s.literal(abi.TypeString)
	case 3, 4:
		return s.literal(abi.TypeNumber)
	case 5:
		return s.literal(abi.TypeBool)
	case 6:
		return s.literal(abi.TypeList)
	}
	// A list of mixed scalars (the parser has no lists in lists).
	n := s.intn(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = s.literal(pick(s, []abi.Type{abi.TypeString, abi.TypeNumber, abi.TypeBool}))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// scalarType is a literal type for IN lists: the field's, or any kind for
// an any field.
func (s *source) scalarType(t abi.Type) abi.Type {
	if t == abi.TypeAny {
		return pick(s, []abi.Type{abi.TypeString, abi.TypeNumber, abi.TypeBool})
	}
	return t
}

// compatibleField picks a field whose values can equal t's.
func (s *source) compatibleField(t abi.Type) genField {
	var ok []genField
	for _, f := range genFields {
		if f.typ == t || f.typ == abi.TypeAny || t == abi.TypeAny {
			ok = append(ok, f)
		}
	}
	return pick(s, ok)
}

// condition writes a random condition; depth bounds the nesting.
func (s *source) condition(depth int) string {
	k := s.intn(10)
	if depth <= 0 {
		k %= 6
	}
	switch k {
	case 6:
		return "NOT " + s.primary(depth-1)
	case 7:
		return s.condition(depth-1) + " AND " + s.condition(depth-1)
	case 8:
		return s.condition(depth-1) + " OR " + s.condition(depth-1)
	case 9:
		return "(" + s.condition(depth-1) + " OR " + s.condition(depth-1) + ") AND " + s.primary(depth-1)
	}
	return s.compare()
}

func (s *source) primary(depth int) string {
	if s.intn(2) == 0 {
		return s.compare()
	}
	return "(" + s.condition(depth) + ")"
}

func (s *source) compare() string {
	f := pick(s, genFields)
	if s.intn(8) == 0 {
		return f.path + pick(s, []string{" IS NULL", " IS NOT NULL"})
	}
	var ops []string
	switch f.typ {
	case abi.TypeString:
		ops = []string{"==", "!=", "<", "<=", ">", ">=", "CONTAINS", "MATCHES", "IN", "NOT IN", "field"}
	case abi.TypeNumber:
		ops = []string{"==", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "field"}
	case abi.TypeBool:
		ops = []string{"==", "!=", "field"}
	case abi.TypeList:
		ops = []string{"==", "!=", "CONTAINS", "field"}
	default:
		ops = []string{"==", "!=", "<", "<=", ">", ">=", "CONTAINS", "MATCHES", "IN", "NOT IN", "field"}
	}
	op := pick(s, ops)
	switch op {
	case "MATCHES":
		if s.intn(2) == 0 {
			return f.path + " MATCHES " + s.regex()
		}
		return f.path + " MATCHES " + pick(s, genRegexes)
	case "IN", "NOT IN":
		n := s.intn(5)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = s.literal(s.scalarType(f.typ))
		}
		return f.path + " " + op + " [" + strings.Join(parts, ", ") + "]"
	case "CONTAINS":
		t := abi.TypeString
		if f.typ == abi.TypeAny {
			t = s.scalarType(f.typ)
		}
		if s.intn(4) == 0 {
			return f.path + " CONTAINS " + s.compatibleField(t).path
		}
		return f.path + " CONTAINS " + s.literal(t)
	case "field":
		op = pick(s, []string{"==", "!=", "<", "<=", ">", ">="})
		if f.typ == abi.TypeBool || f.typ == abi.TypeList {
			op = pick(s, []string{"==", "!="})
		}
		g := s.compatibleField(f.typ)
		for g.typ == abi.TypeBool || g.typ == abi.TypeList {
			if op == "==" || op == "!=" {
				break
			}
			g = s.compatibleField(f.typ)
		}
		return f.path + " " + op + " " + g.path
	}
	t := f.typ
	if (op != "==" && op != "!=") && t == abi.TypeAny {
		t = pick(s, []abi.Type{abi.TypeString, abi.TypeNumber})
	}
	return f.path + " " + op + " " + s.literal(t)
}

// regex composes a regex literal: anchors, flags, literals, classes,
// groups, alternation and repetition, to try every plan of regex.go.
func (s *source) regex() string {
	var b strings.Builder
	b.WriteByte('/')
	if s.intn(2) == 0 {
		b.WriteByte('^')
	}
	b.WriteString(s.rePiece(2))
	if s.intn(3) == 0 {
		b.WriteByte('$')
	}
	b.WriteByte('/')
	b.WriteString(pick(s, []string{"", "", "", "i", "m", "s", "is"}))
	return b.String()
}

func (s *source) rePiece(depth int) string {
	var b strings.Builder
	for range 1 + s.intn(3) {
		k := s.intn(9)
		if depth <= 0 && k >= 6 {
			k %= 6
		}
		switch k {
		case 0, 1, 2, 3:
			b.WriteString(pick(s, []string{"a", "ab", "abc", "b", "A", "é", "-", `\.`, "x y", "aaaaaaaa", "router", `\x00`}))
		case 4:
			b.WriteString(pick(s, []string{"[ab]", "[^a]", "[a-c]", `\d`, `\w`, ".", "[é-ê]", `\pL`}))
		case 5:
			b.WriteString(`\b`)
			continue // no repetition of an empty-width assertion
		case 6:
			b.WriteString("(" + s.rePiece(depth-1) + "|" + s.rePiece(depth-1) + ")")
		default:
			b.WriteString("(?:" + s.rePiece(depth-1) + ")")
		}
		b.WriteString(pick(s, []string{"", "", "", "*", "+", "?", "{1,2}"}))
	}
	return b.String()
}

func (s *source) action() string {
	switch s.intn(4) {
	case 0:
		return `APPLY "t.j2"`
	case 1:
		f := pick(s, genFields)
		if s.intn(4) == 0 {
			return "ASSERT " + f.path + " IS " + s.compatibleField(f.typ).path
		}
		if s.intn(8) == 0 {
			return "ASSERT " + f.path + " IS null"
		}
		return "ASSERT " + f.path + " IS " + s.literal(f.typ)
	}
	f := pick(s, []string{"custom_data.x", "custom_data.bgp.asn", "custom_data.a.b.c"})
	return "SET " + f + " TO " + s.literal(abi.TypeAny)
}

// policy writes one to three rules.
func (s *source) policy() string {
	var b strings.Builder
	n := 1 + s.intn(3)
	for range n {
		fmt.Fprintf(&b, "WHEN %s\nTHEN %s\n", s.condition(3), s.action())
	}
	return b.String()
}

// value draws a record value for a field of type t: null sometimes, else a
// value of its type; any fields get every kind, lists included.
func (s *source) value(t abi.Type) abi.Value {
	if s.intn(6) == 0 {
		return abi.Null()
	}
	switch t {
	case abi.TypeString:
		return abi.String(pick(s, genStrings))
	case abi.TypeNumber:
		if s.intn(16) == 0 {
			return abi.Number(math.NaN())
		}
		return abi.Number(pick(s, genNumbers))
	case abi.TypeBool:
		return abi.Bool(s.intn(2) == 0)
	case abi.TypeList:
		l := make([]abi.Value, s.intn(4))
		for i := range l {
			l[i] = abi.String(pick(s, genStrings))
		}
		return abi.List(l...)
	}
	switch s.intn(7) {
	case 0:
		return abi.Other()
	case 1:
		return abi.Bool(s.intn(2) == 0)
	case 2, 3:
		return s.value(abi.TypeString)
	case 4:
		return s.value(abi.TypeNumber)
	}
	l := make([]abi.Value, s.intn(4))
	for i := range l {
		switch s.intn(6) {
		case 0:
			l[i] = abi.Null()
		case 1:
			l[i] = abi.Other()
		case 2:
			l[i] = abi.Other() // a list inside a list, as record.Build lays it
		case 3:
			l[i] = abi.Number(pick(s, genNumbers))
		case 4:
			l[i] = abi.Bool(s.intn(2) == 0)
		default:
			l[i] = abi.String(pick(s, genStrings))
		}
	}
	return abi.List(l...)
}

// records draws one to eight records for fields.
func (s *source) records(fields []abi.Field) [][]abi.Value {
	recs := make([][]abi.Value, 1+s.intn(8))
	for i := range recs {
		recs[i] = make([]abi.Value, len(fields))
		for j, f := range fields {
			recs[i][j] = s.value(f.Type)
		}
	}
	return recs
}
