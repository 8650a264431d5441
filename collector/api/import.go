package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
)

// handleImport answers POST /import: the body is a CSV or JSON bundle,
// imported all or nothing (or only checked, with dry_run=true). With
// Accept: application/x-ndjson the answer streams the import's progress
// and then its outcome; errors found before the import starts (bad
// parameters, an unreadable file, invalid rows) are plain error answers.
func (a *API) handleImport(c *gin.Context) {
	b, dryRun, err := a.readImport(c)
	if err != nil {
		a.writeError(c, err)
		return
	}
	run := func(progress desired.Progress) (desired.ImportReport, error) {
		if dryRun {
			return a.store.CheckImport(c.Request.Context(), b)
		}
		return a.store.Import(c.Request.Context(), b, progress)
	}
	if acceptsNDJSON(c) {
		a.streamImport(c, run)
		return
	}
	report, err := run(func(int, int) {})
	if err == nil && len(report.Errors) > 0 {
		err = rowErrors(report.Errors)
	}
	if err != nil {
		a.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, normalizeReport(report))
}

// readImport checks the parameters and decodes the file.
func (a *API) readImport(c *gin.Context) (*bundle.Bundle, bool, error) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "format", "kind", "dry_run"); err != nil {
		return nil, false, err
	}
	dryRun, err := queryBool(q, "dry_run")
	if err != nil {
		return nil, false, err
	}
	kind, err := queryEnum(q, "kind", model.ParseObjectKind, model.ObjectKinds())
	if err != nil {
		return nil, false, err
	}
	format := q.Get("format")
	switch format {
	case "json", "csv":
		// An explicit format wins over the Content-Type, so that any
		// client (curl --data-binary) can send a file.
	case "":
		mt, err := mediaType(c, mimeCSV, mimeJSON)
		if err != nil {
			return nil, false, err
		}
		format = map[string]string{mimeCSV: "csv", mimeJSON: "json"}[mt]
	default:
		return nil, false, badRequest("query parameter format=%q: accepted: json, csv", format).
			withDetails(map[string]any{"param": "format", "accepted": []string{"json", "csv"}})
	}
	limit := a.cfg.MaxImportBytes
	if c.Request.ContentLength > limit {
		return nil, false, tooLarge(limit)
	}
	body := &limitedBody{r: http.MaxBytesReader(c.Writer, c.Request.Body, limit)}
	var (
		bnd  *bundle.Bundle
		rows []bundle.RowError
	)
	if format == "csv" {
		bnd, rows, err = bundle.DecodeCSV(body, kind)
	} else {
		bnd, rows, err = bundle.DecodeJSON(body)
	}
	switch {
	case body.exceeded:
		return nil, false, tooLarge(limit)
	case err != nil:
		return nil, false, badRequest("the %s file cannot be read: %v", format, err)
	case len(rows) > 0:
		return nil, false, rowErrors(rows)
	case bnd == nil:
		return nil, false, badRequest("the %s file holds no objects", format)
	}
	return bnd, dryRun, nil
}

// limitedBody remembers that the body went over its limit, whatever the
// decoder made of the error.
type limitedBody struct {
	r        io.Reader
	exceeded bool
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		l.exceeded = true
	}
	return n, err
}

// rowErrors is the 422 of an import with bad rows.
func rowErrors(rows []bundle.RowError) *apiError {
	return newError(http.StatusUnprocessableEntity, codeInvalid,
		"%d problem(s) in the import file; nothing was imported", len(rows)).
		withDetails(map[string]any{"errors": rows})
}

// normalizeReport gives clients maps, never nulls.
func normalizeReport(r desired.ImportReport) desired.ImportReport {
	if r.Created == nil {
		r.Created = map[string]int{}
	}
	if r.Updated == nil {
		r.Updated = map[string]int{}
	}
	if r.Unchanged == nil {
		r.Unchanged = map[string]int{}
	}
	return r
}

// acceptsNDJSON reports whether the client asked for a progress stream.
func acceptsNDJSON(c *gin.Context) bool {
	for _, v := range c.Request.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(part)
			if err == nil && mt == mimeNDJSON {
				q, err := strconv.ParseFloat(params["q"], 64)
				return err != nil || q > 0 // no q, or a q above 0
			}
		}
	}
	return false
}

// streamImport runs the import and streams a JSON line per progress step
// of the store (at most one per percent), then {"report":…} or {"error":…}.
// A dry run writes nothing and so has no progress lines.
func (a *API) streamImport(c *gin.Context, run func(desired.Progress) (desired.ImportReport, error)) {
	c.Header("Content-Type", mimeNDJSON)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	enc := json.NewEncoder(c.Writer)
	line := func(v any) {
		if err := enc.Encode(v); err != nil {
			return // the client went away; the request context says so
		}
		c.Writer.Flush()
	}
	type progress struct {
		Done  int `json:"done"`
		Total int `json:"total"`
	}
	var (
		mu      sync.Mutex
		over    bool
		lastPct = -1
	)
	report := func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if over {
			return
		}
		pct := 100
		if total > 0 {
			pct = done * 100 / total
		}
		if pct == lastPct && done != total {
			return
		}
		lastPct = pct
		line(map[string]progress{"progress": {Done: done, Total: total}})
	}
	res, err := run(report)
	mu.Lock()
	over = true
	mu.Unlock()
	if err == nil && len(res.Errors) > 0 {
		err = rowErrors(res.Errors)
	}
	if err != nil {
		line(errorBody{Error: a.toAPIError(c, err)})
		return
	}
	line(map[string]any{"report": normalizeReport(res)})
}
