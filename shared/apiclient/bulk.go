package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"

	"github.com/unet-project/unet/shared/bundle"
)

// ImportReport says what an import did (the collector's desired.ImportReport).
type ImportReport struct {
	Created   map[string]int    `json:"created"` // by kind
	Updated   map[string]int    `json:"updated"`
	Unchanged map[string]int    `json:"unchanged,omitempty"` // already stored as they are in the file
	Errors    []bundle.RowError `json:"errors,omitempty"`
	Revision  int64             `json:"revision,omitempty"`
}

// Total is the number of objects created and updated (written).
func (r ImportReport) Total() int {
	n := 0
	for _, v := range r.Created {
		n += v
	}
	for _, v := range r.Updated {
		n += v
	}
	return n
}

// Import formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

const ndjsonType = "application/x-ndjson"

// contentType is the media type of a bundle format ("" when unknown).
func contentType(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv"
	case FormatJSON:
		return "application/json"
	default:
		return ""
	}
}

// Import sends a bundle file (format "csv" or "json"; "" lets the server
// guess) to the collector. kind names the objects of a CSV without a kind
// column ("node", ...); dryRun only validates. With a non-nil progress the
// answer is streamed and progress is called as objects are written.
//
// A refused import (bad rows) returns a report whose Errors lists every bad
// row, and an *Error (code invalid) whose RowErrors are the same rows.
func (c *Client) Import(ctx context.Context, r io.Reader, format, kind string, dryRun bool, progress func(done, total int)) (ImportReport, error) {
	q := url.Values{}
	setIf(q, "format", format)
	setIf(q, "kind", kind)
	if dryRun {
		q.Set("dry_run", "true")
	}
	ctype := contentType(format)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	req := request{method: "POST", path: "/import", query: q, body: r, ctype: ctype}
	if progress != nil {
		req.accept = ndjsonType + ", application/json;q=0.5"
	}
	resp, err := c.send(ctx, req)
	if err != nil {
		return reportOf(err), err
	}
	defer resp.Body.Close()
	// A server may answer plain JSON even when asked for a stream.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == ndjsonType {
		rep, err := readImportStream(resp.Body, progress)
		return rep, err
	}
	var rep ImportReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return rep, fmt.Errorf("decoding the import report: %w", err)
	}
	return rep, nil
}

// reportOf turns a refused import's error into a report listing the rows.
func reportOf(err error) ImportReport {
	var e *Error
	if errors.As(err, &e) {
		return ImportReport{Errors: e.RowErrors()}
	}
	return ImportReport{}
}

// streamLine is one line of a streamed import answer.
type streamLine struct {
	Progress *struct {
		Done  int `json:"done"`
		Total int `json:"total"`
	} `json:"progress"`
	Report *ImportReport `json:"report"`
	Error  *Error        `json:"error"`
}

// maxStreamLine bounds one NDJSON line; a final error line lists every bad
// row of a large file, so it is allowed to be big.
const maxStreamLine = 64 << 20

// readImportStream reads progress lines until the final report or error.
func readImportStream(r io.Reader, progress func(done, total int)) (ImportReport, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxStreamLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var l streamLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return ImportReport{}, fmt.Errorf("reading the import stream: bad line %.80q: %w", line, err)
		}
		switch {
		case l.Error != nil:
			l.Error.Status = codeStatus(l.Error.Code)
			return ImportReport{Errors: l.Error.RowErrors()}, l.Error
		case l.Report != nil:
			return *l.Report, nil
		case l.Progress != nil && progress != nil:
			progress(l.Progress.Done, l.Progress.Total)
		}
	}
	if err := sc.Err(); err != nil {
		return ImportReport{}, fmt.Errorf("reading the import stream: %w", err)
	}
	return ImportReport{}, errors.New("the import stream ended without a report: the collector may have stopped; check with export whether the import happened")
}

// Export returns the whole desired state as a bundle file ("json" or
// "csv"; secrets never included). The caller closes it.
func (c *Client) Export(ctx context.Context, format string) (io.ReadCloser, error) {
	q := url.Values{}
	setIf(q, "format", format)
	accept := contentType(format)
	if accept == "" {
		accept = "*/*"
	}
	resp, err := c.send(ctx, request{method: "GET", path: "/export", query: q, accept: accept})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
