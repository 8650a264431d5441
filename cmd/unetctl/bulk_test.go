package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unet-project/unet/shared/bundle"
)

func importReport(w http.ResponseWriter, r *http.Request) {
	reply(200, map[string]any{"created": map[string]int{"node": 2, "link": 1}, "updated": map[string]int{"location": 1},
		"unchanged": map[string]int{"snmp-profile": 3}, "revision": 77})(w, r)
}

func TestImportFormatFromExtensionAndReport(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/import", importReport)
	dir := t.TempDir()
	csvFile := filepath.Join(dir, "nodes.CSV")
	writeFile(t, csvFile, "name,vendor\nr1,cisco\n")

	r := f.cli("import", csvFile, "--kind", "nodes")
	r.wantCode(t, 0)
	req := f.last()
	if req.Query != "format=csv&kind=node" || req.ContentType != "text/csv" || req.Body != "name,vendor\nr1,cisco\n" || req.Accept != "application/json" {
		t.Errorf("sent %+v", req)
	}
	want := "" +
		"KIND          CREATED  UPDATED  UNCHANGED\n" +
		"location      0        1        0\n" +
		"snmp-profile  0        0        3\n" +
		"node          2        0        0\n" +
		"link          1        0        0\n" +
		"Imported: 4 objects written (revision 77).\n"
	if r.out != want {
		t.Errorf("report\n%s\nwant\n%s", r.out, want)
	}

	r = f.cli("import", csvFile, "--dry-run", "-o", "json")
	r.wantCode(t, 0)
	if f.last().Query != "dry_run=true&format=csv" || !strings.Contains(r.out, `"revision": 77`) {
		t.Errorf("dry run sent %q, printed %s", f.last().Query, r.out)
	}
}

func TestImportStdinNeedsFormat(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/import", importReport)
	f.cli("import", "-").wantCode(t, exitUsage, "--format")
	f.cli("import", "network.txt").wantCode(t, exitUsage, "network.txt", "--format")
	f.cli("import", "a.json", "--format", "xml").wantCode(t, exitUsage, "--format", "xml")
	f.cli("import", "missing.json").wantCode(t, exitError, "missing.json")

	inv := f.invocation()
	inv.stdin = `{"nodes":[]}`
	r := inv.run("import", "-", "--format", "json")
	r.wantCode(t, 0)
	if f.last().Body != `{"nodes":[]}` || f.last().ContentType != "application/json" {
		t.Errorf("sent %+v", f.last())
	}
}

func TestImportBadRows(t *testing.T) {
	f := newFake(t)
	rows := []bundle.RowError{
		{Position: bundle.Position{Line: 3}, Kind: "node", Name: "r1", Field: "vendor", Reason: `unknown vendor "foo"`},
		{Position: bundle.Position{Line: 7}, Kind: "node", Name: "r2", Field: "location", Reason: `location "nowhere" does not exist`},
	}
	f.on("POST /api/v1/import", reply(422, errorBody("invalid", "2 problem(s) in the import file; nothing was imported", map[string]any{"errors": rows})))
	file := filepath.Join(t.TempDir(), "n.csv")
	writeFile(t, file, "x")
	r := f.cli("import", file)
	r.wantCode(t, exitError, "import refused: 2 bad rows; nothing was written")
	want := "" +
		"LINE  KIND  NAME  FIELD     REASON\n" +
		"3     node  r1    vendor    unknown vendor \"foo\"\n" +
		"7     node  r2    location  location \"nowhere\" does not exist\n"
	if r.out != want {
		t.Errorf("rows\n%s\nwant\n%s", r.out, want)
	}
	r = f.cli("import", file, "-o", "csv")
	if !strings.HasPrefix(r.out, "line,path,kind,name,field,reason\n3,,node,r1,vendor,") {
		t.Errorf("csv rows:\n%s", r.out)
	}
}

// TestImportProgress drives the progress bar from a streamed answer.
func TestImportProgress(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/import", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/x-ndjson") {
			t.Errorf("no stream asked for on a terminal: %q", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		for done := 0; done <= 1000; done += 250 {
			fmt.Fprintf(w, `{"progress":{"done":%d,"total":1000}}`+"\n", done)
		}
		fmt.Fprintln(w, `{"report":{"created":{"node":1000},"updated":{},"revision":5}}`)
	})
	file := filepath.Join(t.TempDir(), "big.json")
	writeFile(t, file, "{}")
	inv := f.invocation()
	inv.errTerminal = true
	r := inv.run("import", file)
	r.wantCode(t, 0)
	if !strings.Contains(r.err, "importing") || !strings.Contains(r.out, "Imported: 1000 objects written") {
		t.Errorf("stderr %q stdout %q", r.err, r.out)
	}
}

func TestExport(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/export", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "export as %s\n", r.URL.Query().Get("format"))
	})
	r := f.cli("export")
	r.wantCode(t, 0)
	if r.out != "export as json\n" {
		t.Errorf("default export %q", r.out)
	}
	// -o from the environment is for listings, not for export.
	inv := f.invocation()
	inv.env["UNET_OUTPUT"] = "table"
	if r := inv.run("export"); r.out != "export as json\n" {
		t.Errorf("export with UNET_OUTPUT=table: %q", r.out)
	}
	if r := f.cli("export", "-o", "csv"); r.out != "export as csv\n" {
		t.Errorf("-o csv: %q", r.out)
	}
	f.cli("export", "-o", "yaml").wantCode(t, exitUsage, "-o json or -o csv")

	dir := t.TempDir()
	file := filepath.Join(dir, "net.csv")
	r = f.cli("export", "--file", file)
	r.wantCode(t, 0)
	if b, _ := os.ReadFile(file); string(b) != "export as csv\n" || r.out != "" {
		t.Errorf("file %q, stdout %q", b, r.out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
