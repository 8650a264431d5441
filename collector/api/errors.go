package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// Error codes of the {"error":{"code":...}} body.
const (
	codeBadRequest       = "bad_request"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeInUse            = "in_use"
	codeTooLarge         = "payload_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeInvalid          = "invalid"
	codeInternal         = "internal"
	codeCancelled        = "cancelled"
	codeUnavailable      = "unavailable"
)

// statusClientClosed is nginx's status for a request whose client went
// away: it only shows in logs and metrics, nobody reads the answer.
const statusClientClosed = 499

// apiError is an error with its HTTP answer.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error *apiError `json:"error"`
}

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, codeBadRequest, format, args...)
}

// withDetails sets the details and returns e.
func (e *apiError) withDetails(d any) *apiError {
	e.Details = d
	return e
}

// invalidFields is a 422 naming the fields at fault.
func invalidFields(fields []model.FieldError) *apiError {
	v := &model.ValidationError{Fields: fields}
	return newError(http.StatusUnprocessableEntity, codeInvalid, "invalid object: %s", v.Error()).
		withDetails(map[string]any{"fields": fields})
}

// toAPIError maps an error of the store (or of this package) to its answer.
// Only the 500 loses its message: the cause goes to the log, with the
// request id the client is given to quote.
func (a *API) toAPIError(c *gin.Context, err error) *apiError {
	var (
		ae    *apiError
		inUse *desired.InUseError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &inUse):
		refs := inUse.ReferencedBy
		if refs == nil {
			refs = []desired.Ref{}
		}
		return newError(http.StatusConflict, codeInUse, "%s", err).withDetails(map[string]any{"referenced_by": refs})
	case errors.Is(err, desired.ErrInUse):
		return newError(http.StatusConflict, codeInUse, "%s", err).withDetails(map[string]any{"referenced_by": []desired.Ref{}})
	case errors.Is(err, desired.ErrNotFound):
		return newError(http.StatusNotFound, codeNotFound, "%s", err)
	case errors.Is(err, desired.ErrConflict):
		return newError(http.StatusConflict, codeConflict, "%s", err)
	}
	if v, ok := model.AsValidationError(err); ok {
		fields := v.Fields
		if fields == nil {
			fields = []model.FieldError{}
		}
		return newError(http.StatusUnprocessableEntity, codeInvalid, "%s", err).withDetails(map[string]any{"fields": fields})
	}
	id := requestIDOf(c)
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		a.log.Info("request cancelled by the client", "request_id", id, "route", c.FullPath(), "error", err)
		return newError(statusClientClosed, codeCancelled, "the request was cancelled")
	}
	a.log.Error("internal error", "request_id", id, "method", c.Request.Method, "route", c.FullPath(), "error", err)
	return newError(http.StatusInternalServerError, codeInternal,
		"internal error; the collector log has the cause under request id %s", id).
		withDetails(map[string]any{"request_id": id})
}

// writeError answers with err and stops the handler chain.
func (a *API) writeError(c *gin.Context, err error) {
	e := a.toAPIError(c, err)
	if c.Writer.Written() {
		// Too late for a status: the answer has begun (a stream).
		a.log.Warn("error after the answer began", "request_id", requestIDOf(c), "error", e.Message)
		c.Abort()
		return
	}
	c.AbortWithStatusJSON(e.Status, errorBody{Error: e})
}
