package api

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/shared/bundle"
)

// handleExport answers GET /export?format=json|csv with every object, in
// the format import reads. Secrets are never included.
func (a *API) handleExport(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "format"); err != nil {
		a.writeError(c, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	var (
		encode   func(*bytes.Buffer, *bundle.Bundle) error
		mimeType string
	)
	switch format {
	case "json":
		encode = func(w *bytes.Buffer, b *bundle.Bundle) error { return bundle.EncodeJSON(w, b) }
		mimeType = mimeJSON
	case "csv":
		encode = func(w *bytes.Buffer, b *bundle.Bundle) error { return bundle.EncodeCSV(w, b) }
		mimeType = mimeCSV + "; charset=utf-8"
	default:
		a.writeError(c, badRequest("query parameter format=%q: accepted: json, csv", format).
			withDetails(map[string]any{"param": "format", "accepted": []string{"json", "csv"}}))
		return
	}
	b, err := a.store.Export(c.Request.Context())
	if err != nil {
		a.writeError(c, err)
		return
	}
	// The store leaves secrets out; redacting again costs nothing and
	// keeps this answer safe whatever the store does.
	for i := range b.SNMPProfiles {
		b.SNMPProfiles[i] = b.SNMPProfiles[i].Redacted()
	}
	// Encode fully before answering, so a failure is a clean 500 and not a
	// truncated file with a 200.
	var buf bytes.Buffer
	if err := encode(&buf, b); err != nil {
		a.writeError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="unet-export.`+format+`"`)
	c.Data(http.StatusOK, mimeType, buf.Bytes())
}
