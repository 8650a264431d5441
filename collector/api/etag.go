package api

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// setETag sets the ETag of an object: its store revision, quoted.
func setETag(c *gin.Context, rev int64) {
	if rev > 0 {
		c.Header("ETag", etag(rev))
	}
}

func etag(rev int64) string { return strconv.Quote(strconv.FormatInt(rev, 10)) }

// ifMatch reads the If-Match header: the revision it requires, or 0 when
// there is none (or "*", which any existing object matches).
func ifMatch(c *gin.Context) (int64, error) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v := strings.TrimPrefix(h, "W/")
	if uq, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
		v = uq
	}
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil || rev <= 0 {
		return 0, badRequest(`If-Match %s is not an ETag of this API (a quoted revision such as "42")`, h).
			withDetails(map[string]any{"header": "If-Match"})
	}
	return rev, nil
}

// condition is the revision a write is conditional on: If-Match, or else
// the revision in the body; 0 for an unconditional write. When both are
// given they must agree.
func condition(c *gin.Context, bodyRev int64) (int64, error) {
	hdr, err := ifMatch(c)
	if err != nil {
		return 0, err
	}
	if hdr != 0 && bodyRev != 0 && hdr != bodyRev {
		return 0, badRequest("If-Match %s and the body's revision %d disagree: send one, or the same in both", etag(hdr), bodyRev)
	}
	return max(hdr, bodyRev), nil
}
