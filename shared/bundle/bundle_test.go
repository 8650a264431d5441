package bundle

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/shared/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample is a bundle using every column, normalized as the store keeps
// objects, so that it round-trips exactly.
func sample() *Bundle {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	retries0 := 0
	b := &Bundle{
		Locations: []model.Location{
			{Meta: model.Meta{ID: "0e5f6f1c-7d43-4a8e-9b0e-6a1f2f3c4d5e", Revision: 7, CreatedAt: created, UpdatedAt: created},
				Name: "eu", Kind: model.KindRegion, Description: "Europe"},
			{Name: "fr", Kind: model.KindCountry, Parent: "eu"},
			{Name: "par1", Kind: model.KindSite, Parent: "fr", Description: `Paris, Equinix PA3 "cage 12"`},
			{Name: "par1-r01", Kind: model.KindRack, Parent: "par1", Description: " leading space, trailing tab\t"},
		},
		SNMPProfiles: []model.SNMPProfile{
			{Name: "public-v2", Version: model.SNMPv2c, Community: "s3cret, \"quoted\""},
			{Meta: model.Meta{ID: "1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"},
				Name: "core-v3", Version: model.SNMPv3, User: "unet", AuthProtocol: model.AuthSHA256, AuthKey: "authkey-123",
				PrivProtocol: model.PrivAES, PrivKey: "privkey-123", Port: 1161, Timeout: model.Duration(5 * time.Second),
				Retries: &retries0, Interval: model.Duration(5 * time.Minute), MaxRepetitions: 50},
			// As exported: secrets removed. Not an error in a file.
			{Name: "exported-v3", Version: model.SNMPv3, User: "ro", AuthProtocol: model.AuthSHA, PrivProtocol: model.PrivAES256},
		},
		Nodes: []model.Node{
			{Meta: model.Meta{ID: "2c3d4e5f-6071-4829-9bac-1d2e3f4a5b6c", Revision: 12, CreatedAt: created, UpdatedAt: created.Add(time.Hour)},
				Name: "par1-core1", Domain: "example.net", Vendor: model.VendorJuniper, Model: "MX204", Role: model.RoleRouter,
				Lifecycle: model.LifecycleLive, ManagementAddress: "2001:db8::1", Location: "par1-r01", SNMPProfile: "core-v3",
				Version: "22.4R3", Serial: "AB;C,123", Tags: []string{"pop:par1", "core", "tier=1"},
				CustomData: map[string]any{
					"asn":  json.Number("65001"),
					"big":  json.Number("12345678901234567890"),
					"bgp":  map[string]any{"peers": []any{"a", "b"}, "enabled": true},
					"note": "x<y & z, \"q\"",
				}},
			{Name: "par1-sw1", Vendor: model.VendorArista, Role: model.RoleSwitch, Location: "par1"},
		},
		Links: []model.Link{
			{Meta: model.Meta{ID: "3d4e5f60-7182-4930-acbd-2e3f4a5b6c7d"},
				A: model.Endpoint{Node: "par1-core1", Interface: "et-0/0/0"}, Z: &model.Endpoint{Node: "par1-sw1", Interface: "Ethernet1:1"},
				BandwidthBps: 100_000_000_000, Description: "uplink, primary"},
			{A: model.Endpoint{Node: "par1-core1", Interface: "et-0/0/1"}, Circuit: &model.Circuit{ID: "CID-42", Provider: "Transit Co"},
				BandwidthBps: 10_000_000_000},
		},
	}
	normalize(b)
	return b
}

// normalize puts a bundle built in code in the form decoders return.
func normalize(b *Bundle) {
	for i := range b.SNMPProfiles {
		b.SNMPProfiles[i].Normalize()
	}
	for i := range b.Nodes {
		b.Nodes[i].Normalize()
	}
}

// withoutCSVMeta is b as the CSV form carries it: ids, but no revisions
// or timestamps.
func withoutCSVMeta(b *Bundle) *Bundle {
	out := *b
	out.Sources = Sources{}
	strip := func(m *model.Meta) { *m = model.Meta{ID: m.ID} }
	out.Locations = append([]model.Location(nil), b.Locations...)
	for i := range out.Locations {
		strip(&out.Locations[i].Meta)
	}
	out.SNMPProfiles = append([]model.SNMPProfile(nil), b.SNMPProfiles...)
	for i := range out.SNMPProfiles {
		strip(&out.SNMPProfiles[i].Meta)
	}
	out.Nodes = append([]model.Node(nil), b.Nodes...)
	for i := range out.Nodes {
		strip(&out.Nodes[i].Meta)
	}
	out.Links = append([]model.Link(nil), b.Links...)
	for i := range out.Links {
		strip(&out.Links[i].Meta)
	}
	return &out
}

// diffObjects compares the objects of two bundles, not their sources.
func diffObjects(got, want *Bundle) string {
	g, w := *got, *want
	g.Sources, w.Sources = Sources{}, Sources{}
	return cmp.Diff(w, g)
}

func encodeString(t testing.TB, enc func(*bytes.Buffer, *Bundle) error, b *Bundle) string {
	t.Helper()
	var buf bytes.Buffer
	if err := enc(&buf, b); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.String()
}

func encCSV(w *bytes.Buffer, b *Bundle) error  { return EncodeCSV(w, b) }
func encJSON(w *bytes.Buffer, b *Bundle) error { return EncodeJSON(w, b) }

// mustDecodeCSV decodes a file expected to have no problem at all.
func mustDecodeCSV(t testing.TB, in string, kind model.ObjectKind) *Bundle {
	t.Helper()
	b, rowErrs, err := DecodeCSV(strings.NewReader(in), kind)
	if err != nil {
		t.Fatalf("DecodeCSV: %v", err)
	}
	if len(rowErrs) > 0 {
		t.Fatalf("DecodeCSV: unexpected row errors:\n%s", joinErrors(rowErrs))
	}
	return b
}

func mustDecodeJSON(t testing.TB, in string) *Bundle {
	t.Helper()
	b, rowErrs, err := DecodeJSON(strings.NewReader(in))
	if err != nil {
		t.Fatalf("DecodeJSON: %v", err)
	}
	if len(rowErrs) > 0 {
		t.Fatalf("DecodeJSON: unexpected row errors:\n%s", joinErrors(rowErrs))
	}
	return b
}

func joinErrors(errs []RowError) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the encoder's output (go test -update rewrites it):\n%s", path, cmp.Diff(string(want), got))
	}
}

func TestGoldenCSV(t *testing.T) {
	golden(t, "bundle.csv", encodeString(t, encCSV, sample()))

	data, err := os.ReadFile(filepath.Join("testdata", "bundle.csv"))
	if err != nil {
		t.Fatal(err)
	}
	got := mustDecodeCSV(t, string(data), "")
	if d := diffObjects(got, withoutCSVMeta(sample())); d != "" {
		t.Errorf("decoding the golden CSV (-want +got):\n%s", d)
	}
	// One line per object after the header, in the order given.
	wantLines := []int{2, 3, 4, 5}
	if d := cmp.Diff(wantLines, lines(got.Sources.Locations)); d != "" {
		t.Errorf("location lines (-want +got):\n%s", d)
	}
}

func TestGoldenJSON(t *testing.T) {
	golden(t, "bundle.json", encodeString(t, encJSON, sample()))

	data, err := os.ReadFile(filepath.Join("testdata", "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := mustDecodeJSON(t, string(data))
	if d := diffObjects(got, sample()); d != "" {
		t.Errorf("decoding the golden JSON (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Position{{Path: "links[0]"}, {Path: "links[1]"}}, got.Sources.Links); d != "" {
		t.Errorf("link sources (-want +got):\n%s", d)
	}
}

// TestCrossRoundTrip: JSON → bundle → CSV → bundle keeps every object but
// the Meta fields CSV does not carry.
func TestCrossRoundTrip(t *testing.T) {
	fromJSON := mustDecodeJSON(t, encodeString(t, encJSON, sample()))
	fromCSV := mustDecodeCSV(t, encodeString(t, encCSV, fromJSON), "")
	if d := diffObjects(fromCSV, withoutCSVMeta(sample())); d != "" {
		t.Errorf("JSON → CSV round trip (-want +got):\n%s", d)
	}
}

func TestEmptyBundle(t *testing.T) {
	if got, want := encodeString(t, encJSON, &Bundle{}), "{\n  \"locations\": [],\n  \"snmp_profiles\": [],\n  \"nodes\": [],\n  \"links\": []\n}\n"; got != want {
		t.Errorf("EncodeJSON(empty) = %q, want %q", got, want)
	}
	for name, in := range map[string]string{
		"csv":  encodeString(t, encCSV, &Bundle{}),
		"json": encodeString(t, encJSON, &Bundle{}),
	} {
		var b *Bundle
		if name == "csv" {
			b = mustDecodeCSV(t, in, "")
		} else {
			b = mustDecodeJSON(t, in)
		}
		if b.Len() != 0 {
			t.Errorf("%s: decoded %d objects from an empty bundle", name, b.Len())
		}
	}
}

// TestSecretsNeverInvented: a profile without secrets is written without
// them and read back without them, and is not an error.
func TestSecretsNeverInvented(t *testing.T) {
	b := &Bundle{SNMPProfiles: []model.SNMPProfile{
		{Name: "v2", Version: model.SNMPv2c},
		{Name: "v3", Version: model.SNMPv3, User: "u", AuthProtocol: model.AuthSHA, PrivProtocol: model.PrivAES},
	}}
	normalize(b)
	for _, form := range []struct {
		name   string
		enc    func(*bytes.Buffer, *Bundle) error
		decode func(testing.TB, string) *Bundle
	}{
		{"csv", encCSV, func(t testing.TB, s string) *Bundle { return mustDecodeCSV(t, s, "") }},
		{"json", encJSON, mustDecodeJSON},
	} {
		out := encodeString(t, form.enc, b)
		if strings.Contains(out, "placeholder") {
			t.Errorf("%s: the validation placeholder leaked into the output:\n%s", form.name, out)
		}
		got := form.decode(t, out)
		for _, p := range got.SNMPProfiles {
			if p.Community != "" || p.AuthKey != "" || p.PrivKey != "" {
				t.Errorf("%s: profile %s decoded with a secret: %+v", form.name, p.Name, p)
			}
		}
		if d := diffObjects(got, b); d != "" {
			t.Errorf("%s round trip (-want +got):\n%s", form.name, d)
		}
	}
}

func TestRowErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    RowError
		want string
	}{
		{RowError{Position: Position{Line: 12}, Kind: model.ObjectNode, Name: "r1", Field: "vendor", Reason: `unknown vendor "foo"`},
			`line 12: node "r1": vendor: unknown vendor "foo"`},
		{RowError{Position: Position{Path: "nodes[3]"}, Reason: `unknown field "vendr"`}, `nodes[3]: unknown field "vendr"`},
		{RowError{Position: Position{Path: "nodes[3]"}, Kind: model.ObjectNode, Reason: "x"}, `nodes[3]: node: x`},
		{RowError{Position: Position{Line: 2}, Field: "kind", Reason: "is required"}, `line 2: kind: is required`},
		{RowError{Reason: `unknown field "nodez"`}, `unknown field "nodez"`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	// The JSON form the API puts in error details.
	b, err := json.Marshal(RowError{Position: Position{Line: 3}, Kind: model.ObjectLink, Field: "a", Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"line":3,"kind":"link","field":"a","reason":"r"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}

func lines(ps []Position) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Line
	}
	return out
}
