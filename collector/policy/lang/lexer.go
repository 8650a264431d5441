package lang

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the class of a token. Keywords are not a class of their own:
// they are identifiers that the parser compares case-insensitively, so
// that "when", "When" and "WHEN" are one keyword and a field segment may
// still be spelled like one (custom_data.set).
type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tRegex
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tColon
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tIllegal // a lexical error, already reported
)

type token struct {
	kind tokKind
	pos  Pos
	text string // the source text of the token

	str   string  // tString: the value after escapes; tRegex: the pattern
	num   float64 // tNumber
	flags string  // tRegex: canonical flags, each once, in "imsx" order
}

// describe names a token for "expected X, found Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tIllegal:
		return "invalid input"
	}
	return strconv.Quote(t.text)
}

// lexer turns source into tokens on demand and reports lexical errors to
// the same diagnostics list as the parser.
type lexer struct {
	file string
	src  []byte
	off  int
	line int
	col  int // of src[off], from 1, in bytes
	end  Pos // just after the last token
	errs *Diagnostics
}

func newLexer(file string, src []byte, errs *Diagnostics) *lexer {
	return &lexer{file: file, src: src, line: 1, col: 1, errs: errs}
}

func (lx *lexer) pos() Pos { return Pos{File: lx.file, Line: lx.line, Col: lx.col} }

func (lx *lexer) errorf(p Pos, format string, args ...any) {
	lx.errs.add(p, fmt.Sprintf(format, args...))
}

func (lx *lexer) peekByte(k int) byte {
	if lx.off+k < len(lx.src) {
		return lx.src[lx.off+k]
	}
	return 0
}

// advance moves past n bytes, keeping line and column.
func (lx *lexer) advance(n int) {
	for ; n > 0 && lx.off < len(lx.src); n-- {
		if lx.src[lx.off] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
		lx.off++
	}
}

// skipSpace skips whitespace and the three kinds of comment.
func (lx *lexer) skipSpace() {
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			lx.advance(1)
		case c == '#' || (c == '/' && lx.peekByte(1) == '/'):
			for lx.off < len(lx.src) && lx.src[lx.off] != '\n' {
				lx.advance(1)
			}
		case c == '/' && lx.peekByte(1) == '*':
			start := lx.pos()
			lx.advance(2)
			for {
				if lx.off >= len(lx.src) {
					lx.errorf(start, "unterminated /* comment")
					return
				}
				if lx.src[lx.off] == '*' && lx.peekByte(1) == '/' {
					lx.advance(2)
					break
				}
				lx.advance(1)
			}
		default:
			return
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// isIdentPart: after the first letter a segment may hold digits and '-'
// (custom_data keys such as "rack-unit"); the language has no arithmetic,
// so a '-' inside a name is never a minus.
func isIdentPart(c byte) bool { return isLetter(c) || isDigit(c) || c == '-' }

// next returns the next token.
func (lx *lexer) next() token {
	t := lx.scan()
	if t.kind != tEOF {
		lx.end = lx.pos()
	}
	return t
}

func (lx *lexer) scan() token {
	lx.skipSpace()
	start := lx.pos()
	if lx.off >= len(lx.src) {
		// "found end of file" points just after the last token, not at
		// a blank line or a comment below it.
		if lx.end.Line > 0 {
			start = lx.end
		}
		return token{kind: tEOF, pos: start}
	}
	c := lx.src[lx.off]
	begin := lx.off
	tok := func(k tokKind, n int) token {
		lx.advance(n)
		return token{kind: k, pos: start, text: string(lx.src[begin:lx.off])}
	}
	switch {
	case isLetter(c):
		return lx.ident(start)
	case isDigit(c) || (c == '-' || c == '.') && isDigit(lx.peekByte(1)) ||
		c == '-' && lx.peekByte(1) == '.' && isDigit(lx.peekByte(2)):
		return lx.number(start)
	case c == '"' || c == '\'':
		return lx.string(start, c)
	case c == '/':
		return lx.regex(start)
	}
	switch c {
	case '(':
		return tok(tLParen, 1)
	case ')':
		return tok(tRParen, 1)
	case '[':
		return tok(tLBrack, 1)
	case ']':
		return tok(tRBrack, 1)
	case ',':
		return tok(tComma, 1)
	case ':':
		return tok(tColon, 1)
	case '=':
		if lx.peekByte(1) == '=' {
			return tok(tEq, 2)
		}
		t := tok(tIllegal, 1)
		lx.errorf(start, "unexpected \"=\": comparisons use ==")
		return t
	case '!':
		if lx.peekByte(1) == '=' {
			return tok(tNe, 2)
		}
		t := tok(tIllegal, 1)
		lx.errorf(start, "unexpected \"!\": negation is NOT, inequality is !=")
		return t
	case '<':
		if lx.peekByte(1) == '=' {
			return tok(tLe, 2)
		}
		return tok(tLt, 1)
	case '>':
		if lx.peekByte(1) == '=' {
			return tok(tGe, 2)
		}
		return tok(tGt, 1)
	}
	r, size := utf8.DecodeRune(lx.src[lx.off:])
	t := tok(tIllegal, size)
	if r == utf8.RuneError && size <= 1 {
		lx.errorf(start, "invalid UTF-8 byte 0x%02x", c)
	} else {
		lx.errorf(start, "unexpected character %q", r)
	}
	return t
}

// ident reads a name or a dotted field path as one token: segments after
// a dot may start with a digit (derived.extra.ifInErrors.3).
func (lx *lexer) ident(start Pos) token {
	begin := lx.off
	for lx.off < len(lx.src) {
		c := lx.src[lx.off]
		if isIdentPart(c) {
			lx.advance(1)
			continue
		}
		if c == '.' && isIdentPart(lx.peekByte(1)) && lx.peekByte(1) != '-' {
			lx.advance(1)
			continue
		}
		break
	}
	text := string(lx.src[begin:lx.off])
	if lx.peekByte(0) == '.' {
		lx.errorf(lx.pos(), "a field name cannot end with \".\"")
		lx.advance(1)
	}
	return token{kind: tIdent, pos: start, text: text}
}

// number reads -?digits[.digits][(e|E)[+-]digits].
func (lx *lexer) number(start Pos) token {
	begin := lx.off
	if lx.peekByte(0) == '-' {
		lx.advance(1)
	}
	for isDigit(lx.peekByte(0)) {
		lx.advance(1)
	}
	if lx.peekByte(0) == '.' && isDigit(lx.peekByte(1)) {
		lx.advance(1)
		for isDigit(lx.peekByte(0)) {
			lx.advance(1)
		}
	}
	if c := lx.peekByte(0); c == 'e' || c == 'E' {
		k := 1
		if s := lx.peekByte(1); s == '+' || s == '-' {
			k = 2
		}
		if isDigit(lx.peekByte(k)) {
			lx.advance(k)
			for isDigit(lx.peekByte(0)) {
				lx.advance(1)
			}
		}
	}
	// A letter or dot glued to a number ("10s", "1.2.3") is a typo, not
	// two tokens.
	for lx.off < len(lx.src) && (isIdentPart(lx.src[lx.off]) || lx.src[lx.off] == '.') {
		lx.advance(1)
	}
	text := string(lx.src[begin:lx.off])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			lx.errorf(start, "number %s is out of range", text)
		} else {
			lx.errorf(start, "malformed number %q", text)
		}
		return token{kind: tIllegal, pos: start, text: text}
	}
	return token{kind: tNumber, pos: start, text: text, num: f}
}

// string reads a quoted string with backslash escapes: \n \r \t \0 \\ \'
// \" \/ \xHH \uHHHH \UHHHHHHHH. A string does not span lines.
func (lx *lexer) string(start Pos, quote byte) token {
	begin := lx.off
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) || lx.src[lx.off] == '\n' {
			lx.errorf(start, "unterminated string")
			return token{kind: tIllegal, pos: start, text: string(lx.src[begin:lx.off])}
		}
		c := lx.src[lx.off]
		if c == quote {
			lx.advance(1)
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			lx.advance(1)
			continue
		}
		escPos := lx.pos()
		e := lx.peekByte(1)
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '0':
			b.WriteByte(0)
		case '\\', '\'', '"', '/':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			hex := lx.src[lx.off+2 : min(lx.off+2+n, len(lx.src))]
			v, err := strconv.ParseUint(string(hex), 16, 32)
			if len(hex) != n || err != nil {
				lx.errorf(escPos, "escape \\%c needs %d hexadecimal digits", e, n)
				lx.advance(2)
				continue
			}
			if e == 'x' {
				b.WriteByte(byte(v))
			} else if v > utf8.MaxRune || v >= 0xD800 && v <= 0xDFFF {
				lx.errorf(escPos, "escape \\%c%s is not a valid code point", e, hex)
			} else {
				b.WriteRune(rune(v))
			}
			lx.advance(2 + n)
			continue
		case '\n', 0:
			lx.advance(1)
			continue // the unterminated-string error follows
		default:
			r, _ := utf8.DecodeRune(lx.src[lx.off+1:])
			lx.errorf(escPos, "unknown escape \\%c (known: \\n \\r \\t \\0 \\\\ \\' \\\" \\/ \\xHH \\uHHHH)", r)
			lx.advance(1) // the character after is read as itself
			continue
		}
		lx.advance(2)
	}
	// A bad escape was reported; the string is still a string, so that
	// the parser goes on and finds the rule's other errors.
	return token{kind: tString, pos: start, text: string(lx.src[begin:lx.off]), str: b.String()}
}

// regex reads /pattern/flags. Inside the pattern `\/` stands for a slash
// and every other backslash is kept for the regexp syntax. Flags are
// letters glued to the closing slash.
func (lx *lexer) regex(start Pos) token {
	begin := lx.off
	lx.advance(1)
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) || lx.src[lx.off] == '\n' {
			lx.errorf(start, "unterminated regex: it needs a closing /")
			return token{kind: tIllegal, pos: start, text: string(lx.src[begin:lx.off])}
		}
		c := lx.src[lx.off]
		if c == '/' {
			lx.advance(1)
			break
		}
		if c == '\\' && lx.peekByte(1) == '/' {
			b.WriteByte('/')
			lx.advance(2)
			continue
		}
		if c == '\\' && lx.peekByte(1) != '\n' && lx.off+1 < len(lx.src) {
			b.WriteByte(c)
			b.WriteByte(lx.src[lx.off+1])
			lx.advance(2)
			continue
		}
		b.WriteByte(c)
		lx.advance(1)
	}
	var seen [4]bool
	for lx.off < len(lx.src) && isIdentPart(lx.src[lx.off]) {
		c := lx.src[lx.off]
		i := strings.IndexByte("imsx", c)
		if i < 0 {
			lx.errorf(lx.pos(), "unknown regex flag %q (flags are i, m, s and x)", c)
		} else {
			seen[i] = true
		}
		lx.advance(1)
	}
	var flags strings.Builder
	for i, ok := range seen {
		if ok {
			flags.WriteByte("imsx"[i])
		}
	}
	return token{kind: tRegex, pos: start, text: string(lx.src[begin:lx.off]), str: b.String(), flags: flags.String()}
}
