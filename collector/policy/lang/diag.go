package lang

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diagnostic is one error in a policy file.
type Diagnostic struct {
	Pos Pos
	Msg string
}

func (d Diagnostic) String() string { return d.Pos.String() + ": " + d.Msg }

// Diagnostics is the error Parse, Check and Compile return: every error
// found, in file, line and column order.
type Diagnostics []Diagnostic

// Error prints one diagnostic per line as FILE:LINE:COL: message.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Render prints each diagnostic followed by its source line and a caret
// under the column, the way a compiler does on a terminal. source returns
// a file's text by name; a file it does not know (or a line past its end)
// is printed without the excerpt. Tabs in the excerpt are kept so that the
// caret line, which copies them, stays aligned.
func (ds Diagnostics) Render(source func(file string) []byte) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
		var src []byte
		if source != nil {
			src = source(d.Pos.File)
		}
		line, ok := sourceLine(src, d.Pos.Line)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "    %s\n    ", line)
		col := min(max(d.Pos.Col, 1), len(line)+1)
		for _, c := range []byte(line[:col-1]) {
			if c == '\t' {
				b.WriteByte('\t')
			} else if c < 0x80 || c >= 0xC0 {
				b.WriteByte(' ') // one space per character, not per byte
			}
		}
		b.WriteString("^\n")
	}
	return b.String()
}

// sourceLine returns line n (from 1) of src without its line ending.
func sourceLine(src []byte, n int) (string, bool) {
	if src == nil || n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		j := slices.Index(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	if j := slices.Index(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimRight(string(src), "\r"), true
}

func (ds *Diagnostics) add(p Pos, msg string) { *ds = append(*ds, Diagnostic{Pos: p, Msg: msg}) }

// err orders the diagnostics by position, files in the order given (the
// program's file order, not the alphabet; a file not listed comes after,
// in order of appearance), and returns nil when there are none so that the
// result can be returned as an error directly. The sort is stable: two
// errors at one place keep their order.
func (ds Diagnostics) err(files []string) error {
	if len(ds) == 0 {
		return nil
	}
	rank := map[string]int{}
	for _, f := range files {
		if _, ok := rank[f]; !ok {
			rank[f] = len(rank)
		}
	}
	for _, d := range ds {
		if _, ok := rank[d.Pos.File]; !ok {
			rank[d.Pos.File] = len(rank)
		}
	}
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(rank[a.Pos.File], rank[b.Pos.File]),
			cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return ds
}
