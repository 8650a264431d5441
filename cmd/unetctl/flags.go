package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/unet-project/unet/shared/model"
)

// Flag values that check their input as they are parsed, so a bad value is
// a usage error naming the flag (pflag writes `invalid argument "x" for
// "--vendor" flag: <reason>`) before anything is sent.

// enumValue is a flag holding one of a fixed set of values (a model enum),
// stored in its canonical spelling.
type enumValue[T ~string] struct {
	dst   *T
	parse func(string) (T, error)
	typ   string
}

func (v *enumValue[T]) String() string { return string(*v.dst) }
func (v *enumValue[T]) Type() string   { return v.typ }
func (v *enumValue[T]) Set(s string) error {
	t, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.dst = t
	return nil
}

// enumFlag adds an enum flag with completion of its values.
func enumFlag[T ~string](cmd *cobra.Command, dst *T, name, usage string, values []T, parse func(string) (T, error)) {
	names := enumNames(values)
	cmd.Flags().Var(&enumValue[T]{dst: dst, parse: parse, typ: name}, name, usage+" ("+strings.Join(names, ", ")+")")
	_ = cmd.RegisterFlagCompletionFunc(name, enumCompletion(values))
}

func enumNames[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func enumCompletion[T ~string](values []T) cobra.CompletionFunc {
	return cobra.FixedCompletions(enumNames(values), cobra.ShellCompDirectiveNoFileComp)
}

// outputFormat is the -o value.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
	outputYAML  outputFormat = "yaml"
	outputCSV   outputFormat = "csv"
)

func outputFormats() []outputFormat {
	return []outputFormat{outputTable, outputJSON, outputYAML, outputCSV}
}

func parseOutputFormat(s string) (outputFormat, error) {
	in := outputFormat(strings.ToLower(strings.TrimSpace(s)))
	if in == "yml" {
		return outputYAML, nil
	}
	for _, o := range outputFormats() {
		if in == o {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown output format %q (accepted: table, json, yaml, csv)", s)
}

// ipValue is an IPv4 or IPv6 address; "" is allowed (it clears the address
// on update).
type ipValue struct{ dst *string }

func (v ipValue) String() string { return *v.dst }
func (v ipValue) Type() string   { return "ip" }
func (v ipValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IPv4 or IPv6 address", s)
		}
		s = a.Unmap().String()
	}
	*v.dst = s
	return nil
}

// jsonObjectValue is a JSON object given on the command line; `null` is
// accepted too (on update it removes every key). Numbers are kept exactly.
type jsonObjectValue struct {
	dst *json.RawMessage
}

func (v jsonObjectValue) String() string { return string(*v.dst) }
func (v jsonObjectValue) Type() string   { return "json" }
func (v jsonObjectValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "null" {
		*v.dst = json.RawMessage("null")
		return nil
	}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&m); err != nil || m == nil {
		if err == nil || errors.As(err, new(*json.UnmarshalTypeError)) {
			return errors.New(`must be a JSON object, e.g. '{"vlan":120}'`)
		}
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return errors.New("must be one JSON object, and nothing after it")
	}
	*v.dst = json.RawMessage(s)
	return nil
}

// customData decodes a --custom-data value for a node (nil for null).
func customData(raw json.RawMessage) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 2^53 and beyond must survive the round trip
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// endpointValue is NODE:INTERFACE.
type endpointValue struct{ dst **model.Endpoint }

func (v endpointValue) String() string {
	if *v.dst == nil {
		return ""
	}
	return (*v.dst).String()
}
func (v endpointValue) Type() string { return "node:interface" }
func (v endpointValue) Set(s string) error {
	e, err := model.ParseEndpoint(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*v.dst = &e
	return nil
}

// bandwidthValue is a link speed in bits per second: "10G", "2.5G",
// "100M", "1000000", "40Gbps".
type bandwidthValue struct{ dst *uint64 }

func (v bandwidthValue) String() string {
	if *v.dst == 0 {
		return ""
	}
	return formatBandwidth(*v.dst)
}
func (v bandwidthValue) Type() string { return "speed" }
func (v bandwidthValue) Set(s string) error {
	b, err := parseBandwidth(s)
	if err != nil {
		return err
	}
	*v.dst = b
	return nil
}

var bandwidthUnits = []struct {
	suffix string
	mult   float64
}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}}

// parseBandwidth reads decimal (network) units: 1G = 10^9 bit/s.
func parseBandwidth(s string) (uint64, error) {
	in := strings.TrimSpace(s)
	num := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(in), "BPS"), "B")
	mult := 1.0
	for _, u := range bandwidthUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = rest, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	bps := f * mult
	if err != nil || f < 0 || math.IsInf(bps, 0) || math.IsNaN(bps) || bps >= math.MaxUint64 {
		return 0, fmt.Errorf("%q is not a speed (e.g. 10G, 2.5G, 100M, 1000000 for bit/s)", s)
	}
	return uint64(math.Round(bps)), nil
}

// formatBandwidth writes bps in the largest unit that keeps it short: 10G,
// 2.5G, 100M; odd values in plain bit/s.
func formatBandwidth(bps uint64) string {
	for _, u := range bandwidthUnits {
		v := float64(bps) / u.mult
		if v >= 1 && v*100 == math.Trunc(v*100) {
			return strconv.FormatFloat(v, 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatUint(bps, 10)
}

// changed reports whether the flag was given on the command line.
func changed(cmd *cobra.Command, name string) bool { return cmd.Flags().Changed(name) }

// Compile-time checks that the values are pflag.Values.
var (
	_ pflag.Value = (*enumValue[model.Role])(nil)
	_ pflag.Value = ipValue{}
	_ pflag.Value = jsonObjectValue{}
	_ pflag.Value = endpointValue{}
	_ pflag.Value = bandwidthValue{}
)
