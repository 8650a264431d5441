// Package lang is the front end of the policy language (../shared/POLICY.md
// in the design docs, README's policy guide for users): lexer, parser,
// typed AST, checker and the field catalogue. Parse and Check turn source
// files into a Program that collector/policy/wasmgen compiles and the
// tests' interpreter evaluates.
package lang

import (
	"fmt"
	"regexp"

	"github.com/unet-project/unet/collector/policy/abi"
)

// Pos is a position in a policy file; Line and Col count from 1, Col in
// bytes.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Program is a checked set of policy files, ready to compile.
type Program struct {
	// Rules of every file, in file order then source order: rule i of the
	// Program is rule i of the module's manifest.
	Rules []*Rule
	// Fields are the fields the rules read, in slot order (each once);
	// FieldRef.Slot indexes it.
	Fields []abi.Field
	// Regexes are the distinct regexes of MATCHES, in RegexLit.ID order.
	Regexes []abi.Regex

	// regexps are Regexes compiled by Check, so that evaluating a program
	// compiles each regex once (see Program.Regexp).
	regexps []*regexp.Regexp
}

// Rule is `[rule "name":] WHEN cond THEN action`.
type Rule struct {
	Name   string // the given name, or FILE:LINE of WHEN
	Pos    Pos    // of the rule (its `rule` keyword or WHEN)
	When   Expr
	Action Action
}

// ActionKind is ASSERT, SET or APPLY.
type ActionKind = abi.Action

// Action is the THEN part.
type Action struct {
	Kind     ActionKind
	Pos      Pos
	Target   *FieldRef // ASSERT and SET
	Value    Expr      // ASSERT and SET: a *Literal or a *FieldRef
	Template string    // APPLY
}

// Expr is a condition or a value.
type Expr interface {
	Position() Pos
	expr()
}

// BoolOp is AND or OR.
type BoolOp uint8

const (
	And BoolOp = iota
	Or
)

// Logical is `X AND Y` or `X OR Y`.
type Logical struct {
	At   Pos
	Op   BoolOp
	X, Y Expr
}

// Not is `NOT X`.
type Not struct {
	At Pos
	X  Expr
}

// CmpOp is a comparison operator.
type CmpOp uint8

const (
	Eq CmpOp = iota
	Ne
	Lt
	Le
	Gt
	Ge
	Contains
	Matches // Value is a *RegexLit
	In      // Value is a *Literal of kind list
	NotIn
)

var cmpNames = [...]string{"==", "!=", "<", "<=", ">", ">=", "CONTAINS", "MATCHES", "IN", "NOT IN"}

func (o CmpOp) String() string { return cmpNames[o] }

// Compare is `field op value`.
type Compare struct {
	At    Pos
	Op    CmpOp
	Field *FieldRef
	Value Expr // *Literal, *FieldRef or *RegexLit
}

// IsNull is `field IS NULL` or `field IS NOT NULL` (Negated).
type IsNull struct {
	At      Pos
	Field   *FieldRef
	Negated bool
}

// FieldRef is a dotted field name. Check sets Type and Slot.
type FieldRef struct {
	At   Pos
	Path string   // "node.role", "custom_data.bgp.asn"
	Type abi.Type // from the catalogue; TypeAny for custom_data
	Slot int      // index in Program.Fields
}

// Literal is a string, number, bool, null or list constant.
type Literal struct {
	At    Pos
	Value abi.Value
}

// RegexLit is `/pattern/flags`. Check sets ID.
type RegexLit struct {
	At      Pos
	Pattern string // as written (before the x flag is applied)
	Flags   string
	ID      int // index in Program.Regexes
}

func (e *Logical) Position() Pos  { return e.At }
func (e *Not) Position() Pos      { return e.At }
func (e *Compare) Position() Pos  { return e.At }
func (e *IsNull) Position() Pos   { return e.At }
func (e *FieldRef) Position() Pos { return e.At }
func (e *Literal) Position() Pos  { return e.At }
func (e *RegexLit) Position() Pos { return e.At }

func (*Logical) expr()  {}
func (*Not) expr()      {}
func (*Compare) expr()  {}
func (*IsNull) expr()   {}
func (*FieldRef) expr() {}
func (*Literal) expr()  {}
func (*RegexLit) expr() {}
