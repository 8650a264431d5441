package api

// History: what the agents observed, as ClickHouse keeps it (the queries
// are collector/history's). Every route answers 503 when the collector has
// no history store (started without --clickhouse) or while ClickHouse is
// not connected.

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/collector/history"
	"github.com/unet-project/unet/shared/model"
)

// Bounds of the history queries' parameters.
const (
	// maxHistoryRange is the longest from–to range: the hourly rollup's
	// default retention, with room.
	maxHistoryRange = 800 * 24 * time.Hour
	// defaultHistoryRange is the range when from is absent.
	defaultHistoryRange = 24 * time.Hour
	minHistoryStep      = time.Second
	maxHistoryStep      = 31 * 24 * time.Hour
	defaultTopN         = 10
	maxTopN             = 1000
	defaultEventLimit   = 1000
	maxEventLimit       = 100_000
)

// noHistoryMessage is the 503 of a collector without history.
const noHistoryMessage = "no history store is configured: start the collector with --clickhouse"

// eventKinds are the event types a query may ask for.
func eventKinds() []model.EventKind {
	return []model.EventKind{model.EventOperStatus, model.EventAdminStatus, model.EventFlap, model.EventReachability,
		model.EventReboot, model.EventLLDPAdded, model.EventLLDPRemoved}
}

// topMetrics are the metrics /history/top ranks by.
func topMetrics() []history.Metric {
	return []history.Metric{history.MetricInBps, history.MetricOutBps, history.MetricUtilisation, history.MetricErrors}
}

func (a *API) historyRoutes(g *gin.RouterGroup) {
	g.POST("/ingest", a.handleIngest)
	g.GET("/history/interfaces", a.handleInterfaceHistory)
	g.GET("/history/events", a.handleEvents)
	g.GET("/history/top", a.handleTop)
	g.GET("/history/availability", a.handleAvailability)
	g.GET("/nodes/:ref/interfaces", a.handleNodeInterfaces)
}

// historyStore returns the store, or answers 503 and returns nil.
func (a *API) historyStore(c *gin.Context) *history.Store {
	if a.history == nil {
		a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable, noHistoryMessage))
		return nil
	}
	s, err := a.history()
	if err != nil {
		a.historyError(c, err)
		return nil
	}
	return s
}

// historyError answers a failed history query: 400 for a query the store
// cannot answer as asked, 503 with Retry-After when ClickHouse cannot
// answer now.
func (a *API) historyError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, history.ErrBadQuery):
		a.writeError(c, badRequest("%v", err))
	case errors.Is(err, history.ErrUnavailable):
		if after, ok := history.RetryAfter(err); ok && after > 0 {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		}
		a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable, "%v", err))
	default:
		a.writeError(c, err)
	}
}

// HistoryPoint is one point of GET /history/interfaces.
type HistoryPoint struct {
	Time       time.Time      `json:"ts"`
	InBps      *float64       `json:"in_bps"`
	OutBps     *float64       `json:"out_bps"`
	InBpsMax   *float64       `json:"in_bps_max"`
	OutBpsMax  *float64       `json:"out_bps_max"`
	OperStatus model.IfStatus `json:"oper_status"`
	OperUp     float64        `json:"oper_up"`
}

// InterfaceHistory is the answer of GET /history/interfaces.
type InterfaceHistory struct {
	Node       string             `json:"node"`
	IfName     string             `json:"ifname"`
	From       time.Time          `json:"from"`
	To         time.Time          `json:"to"`
	Resolution history.Resolution `json:"resolution"`
	// Step is a Go duration ("5m0s"); "0s" for raw samples.
	Step   string         `json:"step"`
	Points []HistoryPoint `json:"points"`
}

// handleInterfaceHistory answers GET /history/interfaces.
func (a *API) handleInterfaceHistory(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "node", "ifname", "from", "to", "step"); err != nil {
		a.writeError(c, err)
		return
	}
	from, to, err := queryRange(q, time.Now())
	if err != nil {
		a.writeError(c, err)
		return
	}
	ifname := q.Get("ifname")
	if ifname == "" {
		a.writeError(c, badRequest("query parameter ifname is required (the interface's name, e.g. ifname=Gi0/0/1)").
			withDetails(map[string]any{"param": "ifname"}))
		return
	}
	var step time.Duration
	if s := q.Get("step"); s != "" {
		if step, err = parseSpan(s); err != nil || step < minHistoryStep || step > maxHistoryStep {
			a.writeError(c, badRequest("query parameter step=%q must be a duration between %s and %s (e.g. 30s, 5m, 1h, 1d)", s, minHistoryStep, "31d").
				withDetails(map[string]any{"param": "step"}))
			return
		}
	}
	store := a.historyStore(c)
	if store == nil {
		return
	}
	node, ok := a.historyNode(c, q)
	if !ok {
		return
	}
	if node == "" {
		a.writeError(c, badRequest("query parameter node is required (a node's name or id)").withDetails(map[string]any{"param": "node"}))
		return
	}
	h, err := store.InterfaceHistory(c.Request.Context(), history.HistoryQuery{Node: node, IfName: ifname, From: from, To: to, Step: step})
	if err != nil {
		a.historyError(c, err)
		return
	}
	out := InterfaceHistory{Node: node, IfName: ifname, From: from, To: to, Resolution: h.Resolution, Step: h.Step.String(),
		Points: make([]HistoryPoint, len(h.Points))}
	for i, p := range h.Points {
		out.Points[i] = HistoryPoint{Time: p.Time, InBps: p.InBps, OutBps: p.OutBps, InBpsMax: p.InBpsMax, OutBpsMax: p.OutBpsMax,
			OperStatus: p.OperStatus, OperUp: p.OperUp}
	}
	c.JSON(http.StatusOK, out)
}

// HistoryEvent is one event of GET /history/events.
type HistoryEvent struct {
	Time      time.Time           `json:"ts"`
	Node      string              `json:"node"`
	Type      model.EventKind     `json:"type"`
	Interface string              `json:"interface,omitempty"`
	IfIndex   int                 `json:"if_index,omitempty"`
	From      string              `json:"from,omitempty"`
	To        string              `json:"to,omitempty"`
	Detail    string              `json:"detail,omitempty"`
	Neighbor  *model.LLDPNeighbor `json:"neighbor,omitempty"`
}

// handleEvents answers GET /history/events.
func (a *API) handleEvents(c *gin.Context) {
	q := c.Request.URL.Query()
	// type may be repeated (type=flap&type=reboot) or a list (type=flap,reboot).
	if err := checkQuery(without(q, "type"), "node", "interface", "from", "to", "limit"); err != nil {
		a.writeError(c, err)
		return
	}
	from, to, err := queryRange(q, time.Now())
	if err != nil {
		a.writeError(c, err)
		return
	}
	kinds, err := queryKinds(q["type"])
	if err != nil {
		a.writeError(c, err)
		return
	}
	limit, err := queryInt(q, "limit", defaultEventLimit, 1, maxEventLimit)
	if err != nil {
		a.writeError(c, err)
		return
	}
	store := a.historyStore(c)
	if store == nil {
		return
	}
	node, ok := a.historyNode(c, q)
	if !ok {
		return
	}
	events, err := store.Events(c.Request.Context(), history.EventQuery{Node: node, IfName: q.Get("interface"), Kinds: kinds, From: from, To: to, Limit: limit})
	if err != nil {
		a.historyError(c, err)
		return
	}
	out := make([]HistoryEvent, len(events))
	for i, e := range events {
		out[i] = HistoryEvent{Time: e.Time, Node: e.Node, Type: e.Kind, Interface: e.IfName, IfIndex: e.IfIndex,
			From: e.From, To: e.To, Detail: e.Detail, Neighbor: e.Neighbor}
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "events": out})
}

// TopInterface is one item of GET /history/top.
type TopInterface struct {
	Node      string  `json:"node"`
	Interface string  `json:"interface"`
	Value     float64 `json:"value"`
	SpeedBps  uint64  `json:"speed_bps"`
}

// handleTop answers GET /history/top.
func (a *API) handleTop(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "metric", "site", "from", "to", "n"); err != nil {
		a.writeError(c, err)
		return
	}
	from, to, err := queryRange(q, time.Now())
	if err != nil {
		a.writeError(c, err)
		return
	}
	metric := history.MetricInBps
	if s := q.Get("metric"); s != "" {
		metric = history.Metric(s)
		if !slices.Contains(topMetrics(), metric) {
			a.writeError(c, badRequest("query parameter metric=%q: accepted: %s", s, joinStrings(topMetrics())).
				withDetails(map[string]any{"param": "metric", "accepted": topMetrics()}))
			return
		}
	}
	n, err := queryInt(q, "n", defaultTopN, 1, maxTopN)
	if err != nil {
		a.writeError(c, err)
		return
	}
	store := a.historyStore(c)
	if store == nil {
		return
	}
	nodes, err := a.siteNodes(c, q.Get("site"))
	if err != nil {
		a.writeError(c, err)
		return
	}
	out := gin.H{"metric": metric, "from": from, "to": to, "items": []TopInterface{}}
	if len(nodes) == 0 {
		c.JSON(http.StatusOK, out)
		return
	}
	top, res, err := store.TopInterfaces(c.Request.Context(), history.TopQuery{Nodes: nodes, Metric: metric, From: from, To: to, N: n})
	if err != nil {
		a.historyError(c, err)
		return
	}
	items := make([]TopInterface, len(top))
	for i, t := range top {
		items[i] = TopInterface{Node: t.Node, Interface: t.IfName, Value: t.Value, SpeedBps: t.SpeedBps}
	}
	out["items"], out["resolution"] = items, res
	c.JSON(http.StatusOK, out)
}

// handleAvailability answers GET /history/availability.
func (a *API) handleAvailability(c *gin.Context) {
	q := c.Request.URL.Query()
	if err := checkQuery(q, "node", "site", "from", "to"); err != nil {
		a.writeError(c, err)
		return
	}
	from, to, err := queryRange(q, time.Now())
	if err != nil {
		a.writeError(c, err)
		return
	}
	if q.Get("node") != "" && q.Get("site") != "" {
		a.writeError(c, badRequest("give node or site, not both"))
		return
	}
	store := a.historyStore(c)
	if store == nil {
		return
	}
	var nodes []string // empty: every node with samples
	switch {
	case q.Get("node") != "":
		node, ok := a.historyNode(c, q)
		if !ok {
			return
		}
		nodes = []string{node}
	case q.Get("site") != "":
		if nodes, err = a.siteNodes(c, q.Get("site")); err != nil {
			a.writeError(c, err)
			return
		}
		if len(nodes) == 0 {
			c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "items": []history.Availability{}})
			return
		}
	}
	av, res, err := store.Availability(c.Request.Context(), nodes, from, to)
	if err != nil {
		a.historyError(c, err)
		return
	}
	if av == nil {
		av = []history.Availability{}
	}
	c.JSON(http.StatusOK, gin.H{"from": from, "to": to, "resolution": res, "items": av})
}

// historyNode resolves the node parameter (a name or an id) to the node's
// name; "" when absent. An unknown node is a 404.
func (a *API) historyNode(c *gin.Context, q url.Values) (string, bool) {
	ref := q.Get("node")
	if ref == "" {
		return "", true
	}
	n, err := a.store.GetNode(c.Request.Context(), ref)
	if err != nil {
		a.writeError(c, err)
		return "", false
	}
	return n.Name, true
}

// siteNodes lists the names of the nodes in a location's subtree (every
// node when site is empty).
func (a *API) siteNodes(c *gin.Context, site string) ([]string, error) {
	ctx := c.Request.Context()
	if site != "" {
		if _, err := a.store.GetLocation(ctx, site); err != nil {
			if errors.Is(err, desired.ErrNotFound) {
				return nil, newError(http.StatusNotFound, codeNotFound, "site %q: no such location", site)
			}
			return nil, err
		}
	}
	res, err := a.store.ListNodes(ctx, desired.NodeFilter{Location: site}, desired.ListOptions{})
	if err != nil {
		return nil, queryError(err)
	}
	names := make([]string, len(res.Items))
	for i, n := range res.Items {
		names[i] = n.Name
	}
	return names, nil
}

// queryRange reads from and to: RFC 3339 times, "now", or times relative
// to now ("-24h", "now-7d"). to defaults to now, from to a day before to;
// the range must be positive and at most maxHistoryRange.
func queryRange(q url.Values, now time.Time) (from, to time.Time, err error) {
	now = now.UTC()
	to = now
	if s := q.Get("to"); s != "" {
		if to, err = parseTime(s, now); err != nil {
			return from, to, badRequest("query parameter to=%q: %v", s, err).withDetails(map[string]any{"param": "to"})
		}
	}
	from = to.Add(-defaultHistoryRange)
	if s := q.Get("from"); s != "" {
		if from, err = parseTime(s, now); err != nil {
			return from, to, badRequest("query parameter from=%q: %v", s, err).withDetails(map[string]any{"param": "from"})
		}
	}
	if !from.Before(to) {
		return from, to, badRequest("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339)).
			withDetails(map[string]any{"param": "from"})
	}
	if to.Sub(from) > maxHistoryRange {
		return from, to, badRequest("the range from %s to %s is longer than the %d days allowed",
			from.Format(time.RFC3339), to.Format(time.RFC3339), int(maxHistoryRange/(24*time.Hour))).
			withDetails(map[string]any{"param": "from"})
	}
	return from, to, nil
}

// parseTime reads an RFC 3339 time, "now", or a time relative to now: a
// negative span ("-24h", "-7d", "-90m") or "now" minus one ("now-1h").
func parseTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-"), strings.HasPrefix(s, "-"):
		d, err := parseSpan(strings.TrimPrefix(strings.TrimPrefix(s, "now"), "-"))
		if err != nil || d <= 0 {
			return time.Time{}, errors.New(`a relative time is "-" and a positive duration, e.g. -24h, -7d, now-90m`)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New(`give an RFC 3339 time (2026-11-26T08:00:00Z), "now", or a time relative to now (-24h, -7d, now-90m)`)
	}
	return t.UTC(), nil
}

// parseSpan reads a Go duration ("90s", "1h30m") or whole days or weeks
// ("7d", "2w"), which Go durations lack.
func parseSpan(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 16)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}

// queryInt reads an integer parameter between lo and hi; def when absent.
func queryInt(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("query parameter %s=%q must be an integer between %d and %d", name, s, lo, hi).
			withDetails(map[string]any{"param": name, "min": lo, "max": hi})
	}
	return n, nil
}

// queryKinds reads the event types, repeated or comma-separated.
func queryKinds(values []string) ([]model.EventKind, error) {
	var kinds []model.EventKind
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			k := model.EventKind(strings.TrimSpace(s))
			if !slices.Contains(eventKinds(), k) {
				return nil, badRequest("query parameter type=%q: accepted: %s", s, joinStrings(eventKinds())).
					withDetails(map[string]any{"param": "type", "accepted": eventKinds()})
			}
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	return kinds, nil
}

// without returns q without the named parameter.
func without(q url.Values, name string) url.Values {
	out := url.Values{}
	for k, v := range q {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func joinStrings[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// NodeInterfaces is the answer of GET /nodes/{ref}/interfaces.
type NodeInterfaces struct {
	Node       string                 `json:"node"`
	Interfaces []model.InterfaceState `json:"interfaces"`
}

// handleNodeInterfaces answers GET /nodes/{ref}/interfaces: the newest
// state of the node's interfaces, by ifIndex; none until it is polled.
func (a *API) handleNodeInterfaces(c *gin.Context) {
	if err := checkQuery(c.Request.URL.Query()); err != nil {
		a.writeError(c, err)
		return
	}
	n, err := a.store.GetNode(c.Request.Context(), c.Param("ref"))
	if err != nil {
		a.writeError(c, err)
		return
	}
	out := NodeInterfaces{Node: n.Name, Interfaces: []model.InterfaceState{}}
	if a.latest != nil {
		if s, ok := a.latest(n.Name); ok && s.Interfaces != nil {
			out.Interfaces = s.Interfaces
		}
	}
	c.JSON(http.StatusOK, out)
}

// handleIngest answers POST /ingest: collector/ingest's handler, or 503
// without a history store. Agents keep their batches meanwhile.
func (a *API) handleIngest(c *gin.Context) {
	if a.ingest == nil {
		c.Header("Retry-After", "60")
		a.writeError(c, newError(http.StatusServiceUnavailable, codeUnavailable,
			"%s; the agents keep their batches until it is", noHistoryMessage))
		return
	}
	a.ingest(c)
}
