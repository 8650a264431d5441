// Package abi holds the contract between the policy host
// (collector/policy/sandbox) and policy modules, whether emitted by the DSL
// compiler or written by hand: the manifest, the record layout, the verdict
// codes and the values that fill records. policies-wasm/ABI.md is the prose
// version; keep the two in step.
package abi

// Version is the ABI version a module's unet_abi_version must return.
const Version = 1

// Names of the exports and imports.
const (
	ExportMemory     = "memory"
	ExportABIVersion = "unet_abi_version"
	ExportManifest   = "unet_manifest"
	ExportAlloc      = "unet_alloc"
	ExportEval       = "unet_eval"
	ExportInitialize = "_initialize" // Go wasip1 reactors only

	ImportModule     = "unet"
	ImportRegexMatch = "regex_match"
)

// SlotSize is the size in bytes of one field of a record (and of one list
// element).
const SlotSize = 16

// Kind is the run-time kind of a value in a slot.
type Kind uint32

const (
	KindNull   Kind = 0
	KindBool   Kind = 1
	KindNumber Kind = 2
	KindString Kind = 3
	KindList   Kind = 4
	KindOther  Kind = 5 // a JSON object, or a list inside a list: equal to nothing, not null
)

// Verdict is the outcome of one rule on one node.
type Verdict uint8

const (
	NotApplicable Verdict = 0
	Compliant     Verdict = 1
	Violation     Verdict = 2
	Error         Verdict = 3
)

// String returns the verdict's name as the API and the CLI print it.
func (v Verdict) String() string {
	switch v {
	case NotApplicable:
		return "not_applicable"
	case Compliant:
		return "compliant"
	case Violation:
		return "violation"
	case Error:
		return "error"
	}
	return "invalid"
}

// Type is the static type of a manifest field.
type Type string

const (
	TypeString Type = "string"
	TypeNumber Type = "number"
	TypeBool   Type = "bool"
	TypeList   Type = "list"
	TypeAny    Type = "any" // custom_data: the kind is known at run time only
)

// Action is what a rule does where its condition holds.
type Action string

const (
	ActionAssert Action = "assert"
	ActionSet    Action = "set"
	ActionApply  Action = "apply"
)

// Manifest describes a module: the record layout it expects, the regexes
// it calls the host for, and its rules.
type Manifest struct {
	ABI     int     `json:"abi"`
	Fields  []Field `json:"fields"`
	Regexes []Regex `json:"regexes,omitempty"`
	Rules   []Rule  `json:"rules"`
}

// Field is one slot of the record.
type Field struct {
	Path string `json:"path"`
	Type Type   `json:"type"`
}

// Regex is a pattern the module matches through the regex_match import.
type Regex struct {
	Pattern string `json:"pattern"`
	Flags   string `json:"flags,omitempty"` // from "i", "m", "s"
}

// Rule is one rule of the module, in the order unet_eval numbers them.
type Rule struct {
	Name     string    `json:"name"`
	File     string    `json:"file,omitempty"`
	Line     int       `json:"line,omitempty"`
	Action   Action    `json:"action"`
	Target   string    `json:"target,omitempty"`   // assert and set: the field
	Expected *Expected `json:"expected,omitempty"` // assert and set
	Template string    `json:"template,omitempty"` // apply
}

// Expected is the value an assert or set wants: a literal or another field
// of the same record.
type Expected struct {
	Value any    `json:"value,omitempty"` // JSON literal; nil with Field set
	Field string `json:"field,omitempty"`
}

// Value is a field's value for one node, as the host lays it in a slot.
// Number holds numbers and bools (0 or 1); Str strings; List lists.
type Value struct {
	Kind   Kind
	Number float64
	Str    string
	List   []Value
}

// Constructors for the common kinds.
func Null() Value { return Value{} }
func Bool(b bool) Value {
	v := Value{Kind: KindBool}
	if b {
		v.Number = 1
	}
	return v
}
func Number(f float64) Value { return Value{Kind: KindNumber, Number: f} }
func String(s string) Value  { return Value{Kind: KindString, Str: s} }
func List(vs ...Value) Value { return Value{Kind: KindList, List: vs} }
func Other() Value           { return Value{Kind: KindOther} }
