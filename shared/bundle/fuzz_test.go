package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unet-project/unet/shared/model"
)

// The fuzzers' seeds are the golden files plus the hand-written inputs in
// testdata/fuzz/<FuzzName>/ (and what earlier runs found worth keeping).

func FuzzDecodeCSV(f *testing.F) {
	f.Add(readTestdata(f, "bundle.csv"), "")
	f.Add([]byte("name,vendor,role,location\nr1,cisco,router,par1\n"), "node")
	f.Fuzz(func(t *testing.T, data []byte, defaultKind string) {
		b, rowErrs, err := DecodeCSV(bytes.NewReader(data), model.ObjectKind(defaultKind))
		if err != nil {
			if b != nil || rowErrs != nil {
				t.Fatalf("error %v comes with a bundle or row errors", err)
			}
			return
		}
		last := 0
		for _, e := range rowErrs {
			if e.Line < 1 || e.Path != "" || e.Reason == "" {
				t.Errorf("row error without a line or a reason: %#v", e)
			}
			if e.Line < last {
				t.Errorf("row errors out of line order: %d after %d", e.Line, last)
			}
			last = e.Line
		}
		checkBadRowsLeftOut(t, b, rowErrs)
		// The objects kept are sound whatever the other rows: they must
		// survive both forms.
		checkRoundTrips(t, b)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add(readTestdata(f, "bundle.json"))
	f.Add([]byte(`{"nodes": [{"name": "r1", "vendor": "cisco", "role": "router", "location": "par1"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The splitter DecodeJSON relies on agrees with encoding/json.
		if json.Valid(data) {
			if d := cmp.Diff(splitReference(t, data), splitMembers(data)); d != "" {
				t.Fatalf("members (-encoding/json +members):\n%s", d)
			}
		}
		b, rowErrs, err := DecodeJSON(bytes.NewReader(data))
		if err != nil {
			if b != nil || rowErrs != nil {
				t.Fatalf("error %v comes with a bundle or row errors", err)
			}
			return
		}
		for _, e := range rowErrs {
			if e.Line != 0 || e.Reason == "" {
				t.Errorf("row error with a line or without a reason: %#v", e)
			}
		}
		checkBadRowsLeftOut(t, b, rowErrs)
		checkRoundTrips(t, b)
	})
}

// checkRoundTrips encodes b in both forms and decodes it back: no error,
// and the same objects (but for the Meta fields CSV does not carry).
func checkRoundTrips(t *testing.T, b *Bundle) {
	t.Helper()
	checkSources(t, b)
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, b); err != nil {
		t.Fatalf("EncodeJSON: %v", err)
	}
	fromJSON, rowErrs, err := DecodeJSON(&buf)
	if err != nil || len(rowErrs) > 0 {
		t.Fatalf("decoding the JSON encoding: %v %s\n%s", err, joinErrors(rowErrs), encodeString(t, encJSON, b))
	}
	if d := diffObjects(fromJSON, b); d != "" {
		t.Fatalf("JSON round trip (-want +got):\n%s", d)
	}

	buf.Reset()
	if err := EncodeCSV(&buf, b); err != nil {
		if errors.Is(err, errCRLF) && strings.Contains(encodeString(t, encJSON, b), `\r\n`) {
			return // documented: such a value (a secret) only travels as JSON
		}
		t.Fatalf("EncodeCSV: %v", err)
	}
	fromCSV, rowErrs, err := DecodeCSV(&buf, "")
	if err != nil || len(rowErrs) > 0 {
		t.Fatalf("decoding the CSV encoding: %v %s\n%s", err, joinErrors(rowErrs), encodeString(t, encCSV, b))
	}
	if d := diffObjects(fromCSV, withoutCSVMeta(b)); d != "" {
		t.Fatalf("CSV round trip (-want +got):\n%s", d)
	}
}

// checkSources checks there is one position per object.
func checkSources(t *testing.T, b *Bundle) {
	t.Helper()
	s := b.Sources
	if len(s.Locations) != len(b.Locations) || len(s.SNMPProfiles) != len(b.SNMPProfiles) ||
		len(s.Nodes) != len(b.Nodes) || len(s.Links) != len(b.Links) {
		t.Errorf("sources do not match the objects one for one: %+v", s)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
