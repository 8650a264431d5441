package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// column is one column of the table and CSV outputs of a kind.
type column[T any] struct {
	header  string // table header ("MGMT ADDRESS")
	key     string // CSV header: the JSON field name ("management_address")
	get     func(T) string
	wide    bool // only in CSV and `show`: too much for a list table
	human   bool // only in tables and `show`: CSV has raw columns instead
	csvOnly bool // a raw column for machines, shown by people as a human one
}

// printList writes items in the chosen format: JSON (an array of the API
// objects), YAML (the same data), CSV (header + rows) or a table.
func printList[T any](a *app, items []T, cols []column[T], noun string) error {
	if items == nil {
		items = []T{}
	}
	switch a.conf.output {
	case outputJSON:
		return writeJSON(a.out, items)
	case outputYAML:
		return writeYAML(a.out, items)
	case outputCSV:
		return writeCSV(a.out, items, cols)
	}
	if len(items) == 0 {
		fmt.Fprintf(a.err, "No %s found.\n", noun)
		return nil
	}
	return writeTable(a.out, items, cols)
}

// printOne writes one object: JSON/YAML of the object, CSV with one row,
// or for the table format one "Field: value" line per non-empty column.
func printOne[T any](a *app, item T, cols []column[T]) error {
	switch a.conf.output {
	case outputJSON:
		return writeJSON(a.out, item)
	case outputYAML:
		return writeYAML(a.out, item)
	case outputCSV:
		return writeCSV(a.out, []T{item}, cols)
	}
	return writeDetail(a.out, item, cols)
}

// printDone reports a successful change: the object as stored for the
// machine formats, one line for people.
func printDone[T any](a *app, item T, cols []column[T], format string, args ...any) error {
	if a.conf.output == outputTable {
		_, err := fmt.Fprintf(a.out, format+"\n", args...)
		return err
	}
	return printOne(a, item, cols)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as YAML with the JSON field names and order: it goes
// through JSON into a yaml.Node (which keeps key order) rather than
// through the Go struct (which would need yaml tags everywhere).
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return err
	}
	plainStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

// plainStyle drops the JSON flow and quoting styles so the YAML reads as
// YAML; the encoder still quotes strings that would otherwise change type.
func plainStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
}

func writeCSV[T any](w io.Writer, items []T, cols []column[T]) error {
	cw := csv.NewWriter(w)
	var shown []column[T]
	for _, c := range cols {
		if !c.human {
			shown = append(shown, c)
		}
	}
	cols = shown
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = c.key
	}
	_ = cw.Write(row)
	for _, it := range items {
		for i, c := range cols {
			row[i] = c.get(it)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func writeTable[T any](w io.Writer, items []T, cols []column[T]) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var shown []column[T]
	for _, c := range cols {
		if !c.wide && !c.csvOnly {
			shown = append(shown, c)
		}
	}
	cells := make([]string, len(shown))
	for i, c := range shown {
		cells[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
	for _, it := range items {
		for i, c := range shown {
			cells[i] = cell(c.get(it))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func writeDetail[T any](w io.Writer, item T, cols []column[T]) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, c := range cols {
		if c.csvOnly {
			continue
		}
		if v := c.get(item); v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", label(c.header), cell(v))
		}
	}
	return tw.Flush()
}

// cell keeps a value on one table line; tabs would break the alignment.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// label turns a table header into a detail label: "MGMT ADDRESS" →
// "Mgmt address", keeping acronyms ("SNMP PROFILE" → "SNMP profile").
func label(header string) string {
	words := strings.Fields(header)
	for i, w := range words {
		switch w {
		case "ID", "SNMP", "FQDN", "A", "Z":
		default:
			words[i] = strings.ToLower(w)
		}
	}
	r := []rune(strings.Join(words, " "))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// jsonText is a value as compact JSON, "" for nothing.
func jsonText(v any) string {
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	s := strings.TrimSpace(b.String())
	if s == "null" || s == "{}" {
		return ""
	}
	return s
}
