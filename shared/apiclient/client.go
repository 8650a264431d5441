// Package apiclient is the Go client of the μNet collector's HTTP API
// (/api/v1): typed calls for every route, API errors decoded into *Error,
// list pages followed through their continue tokens, and streamed imports
// with progress. unetctl uses it; agents will too.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultUserAgent is sent when no WithUserAgent option is given.
const DefaultUserAgent = "unet-apiclient/1"

// apiPrefix is where every route of the contract lives.
const apiPrefix = "/api/v1"

// Client talks to one collector. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash
	http      *http.Client
	token     string
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as `Authorization: Bearer <token>` on every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces http.DefaultClient (for TLS settings, proxies,
// transports in tests). Timeouts are best set per call through the context.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header, e.g. "unetctl/1.2".
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the collector at baseURL (e.g.
// "http://127.0.0.1:8080"). A trailing "/api/v1" is accepted and dropped, so
// both the server address and the API root work.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("collector URL %q: %v", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("collector URL %q: scheme must be http or https", baseURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("collector URL %q has no host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("collector URL %q must not have a query or fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), apiPrefix)
	u.RawPath = ""
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), http: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the collector's address as the client uses it.
func (c *Client) BaseURL() string { return c.base }

// request is one API call.
type request struct {
	method  string
	path    string // below /api/v1, starting with "/"
	query   url.Values
	body    io.Reader
	ctype   string // of body
	accept  string
	ifMatch int64 // If-Match revision when non-zero
}

// jsonBody encodes v as a request body.
func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return bytes.NewReader(b), nil
}

// send performs r and returns the response when its status is 2xx; any
// other status is decoded into *Error and the body closed.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + apiPrefix + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, r.body)
	if err != nil {
		return nil, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", r.ctype)
	}
	accept := r.accept
	if accept == "" {
		accept = "application/json"
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r.ifMatch != 0 {
		req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(r.ifMatch, 10)))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// transportError explains a request that got no HTTP answer at all.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("no answer from the collector at %s in time: %w", c.base, ctxErr)
		}
		return ctxErr
	}
	// url.Error repeats the method and the whole URL; the inner error
	// ("dial tcp …: connection refused") is what the user needs.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &TransportError{URL: c.base, Err: err}
}

// TransportError is a request that never got an HTTP answer: connection
// refused, DNS failure, TLS failure, connection reset.
type TransportError struct {
	URL string
	Err error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("cannot reach the collector at %s: %v", e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// do performs r and decodes a JSON answer into out (unless out is nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the answer to %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// objectPath is the path of one object of a collection.
func objectPath(coll, ref string) string {
	return "/" + coll + "/" + url.PathEscape(ref)
}
