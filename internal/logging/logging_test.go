package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(Config{Level: "warn", Format: "auto"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("auto format on a non-terminal should be JSON: %v (%s)", err, buf.String())
	}
	if rec["msg"] != "shown" || strings.Contains(buf.String(), "hidden") {
		t.Errorf("level filter failed: %s", buf.String())
	}
	for _, bad := range []Config{{Level: "loud", Format: "json"}, {Level: "info", Format: "xml"}} {
		if _, err := New(bad, &buf); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", bad)
		}
	}
}
