package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Resolution is the table a history query read.
type Resolution string

const (
	ResolutionRaw         Resolution = "raw"
	ResolutionFiveMinutes Resolution = "5m"
	ResolutionHour        Resolution = "1h"
)

// HistoryQuery asks for one interface's history.
type HistoryQuery struct {
	Node   string
	IfName string
	From   time.Time // included
	To     time.Time // excluded
	// Step is the width of one point; 0 picks one for about MaxPoints
	// points. A step at or below the poll interval returns the raw samples.
	Step time.Duration
}

// MaxPoints is the number of points a history query aims at when it is
// given no step, and the most it returns for a step that is too small.
const MaxPoints = 2000

// Point is one step of an interface's history. Rates are nil when no
// sample of the step had one.
type Point struct {
	Time      time.Time `json:"time"` // the step's start
	InBps     *float64  `json:"in_bps"`
	OutBps    *float64  `json:"out_bps"`
	InBpsMax  *float64  `json:"in_bps_max"`
	OutBpsMax *float64  `json:"out_bps_max"`
	// OperStatus is the last oper status of the step; OperUp the share of
	// its samples with oper status up.
	OperStatus model.IfStatus `json:"oper_status"`
	OperUp     float64        `json:"oper_up"`
}

// History is the answer to a HistoryQuery.
type History struct {
	Resolution Resolution    `json:"resolution"`
	Step       time.Duration `json:"step"` // 0 for raw samples: one point per sample
	Points     []Point       `json:"points"`
}

// ErrBadQuery is wrapped by the errors of queries that cannot be answered
// as asked (the API's 400).
var ErrBadQuery = errors.New("bad history query")

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadQuery, fmt.Sprintf(format, args...))
}

func checkRange(from, to time.Time) error {
	if from.IsZero() || to.IsZero() {
		return badQuery("from and to are required")
	}
	if !from.Before(to) {
		return badQuery("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return nil
}

// resolution picks the table for a step and a range: the raw samples for
// steps up to the poll interval and below 5 minutes, the 5-minute rollup
// below an hour, the hourly one above; and a coarser table when the range
// starts before the finer one's retention.
func (s *Store) resolution(step time.Duration, from, now time.Time) Resolution {
	res := ResolutionHour
	switch {
	case step < 5*time.Minute:
		res = ResolutionRaw
	case step < time.Hour:
		res = ResolutionFiveMinutes
	}
	kept := func(days int) bool { return days == 0 || !from.Before(now.AddDate(0, 0, -days)) }
	if res == ResolutionRaw && !kept(s.cfg.Retention.Raw) {
		res = ResolutionFiveMinutes
	}
	if res == ResolutionFiveMinutes && !kept(s.cfg.Retention.FiveMinutes) {
		res = ResolutionHour
	}
	return res
}

// InterfaceHistory returns the in/out bit rates and the oper status of one
// interface over a range, one point per step, from the raw samples or a
// rollup (History.Resolution says which).
func (s *Store) InterfaceHistory(ctx context.Context, q HistoryQuery) (h *History, err error) {
	if q.Node == "" || q.IfName == "" {
		return nil, badQuery("node and interface name are required")
	}
	if err := checkRange(q.From, q.To); err != nil {
		return nil, err
	}
	if q.Step < 0 {
		return nil, badQuery("step must not be negative (got %s)", q.Step)
	}
	span := q.To.Sub(q.From)
	step := q.Step
	if step == 0 || span/step > MaxPoints {
		step = span / MaxPoints
	}
	res := s.resolution(step, q.From, time.Now())
	start := time.Now()
	defer func() { s.observe("interface_history_"+string(res), start, err) }()

	h = &History{Resolution: res}
	where := fmt.Sprintf("node = %s AND ifname = %s", quote(q.Node), quote(q.IfName))
	var query string
	switch {
	case res == ResolutionRaw && step <= s.cfg.PollInterval:
		query = fmt.Sprintf(`SELECT ts, in_bps, out_bps, in_bps AS in_peak, out_bps AS out_peak, toString(oper_status), toFloat64(oper_status = 'up')
			FROM interface_samples WHERE %s AND ts >= %s AND ts < %s ORDER BY ts`, where, dateTime(q.From), dateTime(q.To))
	case res == ResolutionRaw:
		h.Step = roundStep(step, time.Second)
		query = fmt.Sprintf(`SELECT toDateTime(intDiv(toUInt32(ts), %[1]d) * %[1]d) AS t,
				%[2]s, %[3]s, %[4]s, %[5]s, toString(argMax(oper_status, ts)), avg(toFloat64(oper_status = 'up'))
			FROM interface_samples WHERE %[6]s AND ts >= %[7]s AND ts < %[8]s GROUP BY t ORDER BY t`,
			int64(h.Step/time.Second), avgRaw("in_bps"), avgRaw("out_bps"), maxRaw("in_bps"), maxRaw("out_bps"),
			where, dateTime(q.From), dateTime(q.To))
	default:
		table, bucket := tableInterfaceSamples5m, 5*time.Minute
		if res == ResolutionHour {
			table, bucket = tableInterfaceSamples1h, time.Hour
		}
		h.Step = roundStep(step, bucket)
		// Buckets that start in the range: a partial first step starts
		// at the bucket holding From.
		query = fmt.Sprintf(`SELECT toDateTime(intDiv(toUInt32(bucket), %[1]d) * %[1]d) AS t,
				avgIfMerge(in_bps_avg), avgIfMerge(out_bps_avg), maxIfMerge(in_bps_max), maxIfMerge(out_bps_max),
				toString(argMaxMerge(last_oper_status)), avgMerge(oper_up)
			FROM %[2]s WHERE %[3]s AND bucket >= %[4]s AND bucket < %[5]s GROUP BY t ORDER BY t`,
			int64(h.Step/time.Second), table, where, dateTime(q.From.Truncate(bucket)), dateTime(q.To))
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, classify("interface history", err, s.cfg.RetryAfter)
	}
	defer rows.Close()
	for rows.Next() {
		var p Point
		var status string
		var in, out, inMax, outMax *float64
		if err := rows.Scan(&p.Time, &in, &out, &inMax, &outMax, &status, &p.OperUp); err != nil {
			return nil, classify("interface history", err, s.cfg.RetryAfter)
		}
		p.InBps, p.OutBps = finite(in), finite(out)
		// maxIf of no value is 0, not nan: no average means no peak.
		if p.InBps != nil {
			p.InBpsMax = finite(inMax)
		}
		if p.OutBps != nil {
			p.OutBpsMax = finite(outMax)
		}
		p.OperStatus = model.IfStatus(status)
		p.Time = p.Time.UTC()
		h.Points = append(h.Points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("interface history", err, s.cfg.RetryAfter)
	}
	return h, nil
}

// roundStep rounds a step up to a multiple of unit (at least one unit).
func roundStep(step, unit time.Duration) time.Duration {
	if step <= unit {
		return unit
	}
	return (step + unit - 1) / unit * unit
}

func avgRaw(col string) string {
	return fmt.Sprintf("avgIf(ifNull(%[1]s, 0), isNotNull(%[1]s))", col)
}

func maxRaw(col string) string {
	return fmt.Sprintf("maxIf(ifNull(%[1]s, 0), isNotNull(%[1]s))", col)
}

// finite turns the nan of an empty average (and NULL) into nil.
func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}

// EventQuery asks for events.
type EventQuery struct {
	Node   string            // empty: every node
	IfName string            // empty: every interface (and device events)
	Kinds  []model.EventKind // empty: every kind
	From   time.Time
	To     time.Time
	Limit  int // 0: 1000; at most 100,000
}

// Events returns the events of a range, newest first.
func (s *Store) Events(ctx context.Context, q EventQuery) (events []model.Event, err error) {
	if err := checkRange(q.From, q.To); err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 1000
	case limit < 0 || limit > 100_000:
		return nil, badQuery("limit must be between 1 and 100000 (got %d)", q.Limit)
	}
	start := time.Now()
	defer func() { s.observe("events", start, err) }()
	conds := []string{"ts >= " + dateTime(q.From), "ts < " + dateTime(q.To)}
	if q.Node != "" {
		conds = append(conds, "node = "+quote(q.Node))
	}
	if q.IfName != "" {
		conds = append(conds, "ifname = "+quote(q.IfName))
	}
	if len(q.Kinds) > 0 {
		kinds := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = quote(string(k))
		}
		conds = append(conds, "kind IN ("+strings.Join(kinds, ", ")+")")
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT ts, node, kind, ifindex, ifname, from_state, to_state, detail,
			has_neighbor, neighbor_local_port, neighbor_local_ifindex, neighbor_chassis_id, neighbor_port_id,
			neighbor_port_descr, neighbor_sys_name
		FROM events WHERE %s ORDER BY ts DESC, node, ifname LIMIT %d`, strings.Join(conds, " AND "), limit))
	if err != nil {
		return nil, classify("events", err, s.cfg.RetryAfter)
	}
	defer rows.Close()
	for rows.Next() {
		var e model.Event
		var kind string
		var ifindex, nbIfindex uint32
		var hasNb uint8
		var nb model.LLDPNeighbor
		if err := rows.Scan(&e.Time, &e.Node, &kind, &ifindex, &e.IfName, &e.From, &e.To, &e.Detail,
			&hasNb, &nb.LocalPort, &nbIfindex, &nb.ChassisID, &nb.PortID, &nb.PortDescr, &nb.SysName); err != nil {
			return nil, classify("events", err, s.cfg.RetryAfter)
		}
		e.Time, e.Kind, e.IfIndex = e.Time.UTC(), model.EventKind(kind), int(ifindex)
		if hasNb == 1 {
			nb.LocalIfIndex = int(nbIfindex)
			e.Neighbor = &nb
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("events", err, s.cfg.RetryAfter)
	}
	return events, nil
}

// Metric ranks interfaces in TopInterfaces.
type Metric string

const (
	MetricInBps  Metric = "in_bps"  // average inbound bit rate
	MetricOutBps Metric = "out_bps" // average outbound bit rate
	// MetricUtilisation: the larger of the average in and out bit rates,
	// in percent of the interface speed (interfaces of unknown speed are
	// left out).
	MetricUtilisation Metric = "utilisation"
	// MetricErrors: average in + out errors per second.
	MetricErrors Metric = "errors"
)

// TopQuery asks for the busiest interfaces of a set of nodes (a site's,
// resolved by the caller from the desired state).
type TopQuery struct {
	Nodes  []string // required
	Metric Metric
	From   time.Time
	To     time.Time
	N      int // 0: 10; at most 10,000
}

// TopInterface is one interface of a TopInterfaces answer.
type TopInterface struct {
	Node     string  `json:"node"`
	IfName   string  `json:"if_name"`
	Value    float64 `json:"value"`
	SpeedBps uint64  `json:"speed_bps"`
}

// TopInterfaces returns the N interfaces of the nodes with the highest
// metric over the range, highest first, and the resolution it read
// (ranges up to 6 hours from the raw samples, up to 7 days from the
// 5-minute rollup, longer from the hourly one).
func (s *Store) TopInterfaces(ctx context.Context, q TopQuery) (top []TopInterface, res Resolution, err error) {
	if len(q.Nodes) == 0 {
		return nil, "", badQuery("nodes are required")
	}
	if err := checkRange(q.From, q.To); err != nil {
		return nil, "", err
	}
	n := q.N
	switch {
	case n == 0:
		n = 10
	case n < 0 || n > 10_000:
		return nil, "", badQuery("n must be between 1 and 10000 (got %d)", q.N)
	}
	span := q.To.Sub(q.From)
	switch {
	case span <= 6*time.Hour:
		res = s.resolution(time.Second, q.From, time.Now())
	case span <= 7*24*time.Hour:
		res = s.resolution(5*time.Minute, q.From, time.Now())
	default:
		res = ResolutionHour
	}
	start := time.Now()
	defer func() { s.observe("top_interfaces", start, err) }()

	var in, out, inErr, outErr, speed, table, ts string
	switch res {
	case ResolutionRaw:
		in, out, inErr, outErr = avgRaw("in_bps"), avgRaw("out_bps"), avgRaw("in_errors"), avgRaw("out_errors")
		speed, table, ts = "max(speed_bps)", tableInterfaceSamples, "ts"
	default:
		in, out, inErr, outErr = "avgIfMerge(in_bps_avg)", "avgIfMerge(out_bps_avg)", "avgIfMerge(in_errors_avg)", "avgIfMerge(out_errors_avg)"
		speed, table, ts = "maxMerge(speed_bps_max)", tableInterfaceSamples5m, "bucket"
		if res == ResolutionHour {
			table = tableInterfaceSamples1h
		}
	}
	var value string
	switch q.Metric {
	case MetricInBps:
		value = in
	case MetricOutBps:
		value = out
	case MetricUtilisation:
		value = fmt.Sprintf("greatest(%s, %s) * 100 / %s", in, out, speed)
	case MetricErrors:
		value = fmt.Sprintf("%s + %s", inErr, outErr)
	default:
		return nil, "", badQuery("metric must be one of in_bps, out_bps, utilisation, errors (got %q)", q.Metric)
	}
	nodes := make([]string, len(q.Nodes))
	for i, n := range q.Nodes {
		nodes[i] = quote(n)
	}
	from := q.From
	if res != ResolutionRaw {
		from = from.Truncate(5 * time.Minute)
		if res == ResolutionHour {
			from = from.Truncate(time.Hour)
		}
	}
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT node, ifname, %s AS value, %s AS speed
		FROM %s WHERE node IN (%s) AND %s >= %s AND %s < %s
		GROUP BY node, ifname HAVING isFinite(value)
		ORDER BY value DESC, node, ifname LIMIT %d`,
		value, speed, table, strings.Join(nodes, ", "), ts, dateTime(from), ts, dateTime(q.To), n))
	if err != nil {
		return nil, res, classify("top interfaces", err, s.cfg.RetryAfter)
	}
	defer rows.Close()
	for rows.Next() {
		var t TopInterface
		if err := rows.Scan(&t.Node, &t.IfName, &t.Value, &t.SpeedBps); err != nil {
			return nil, res, classify("top interfaces", err, s.cfg.RetryAfter)
		}
		top = append(top, t)
	}
	if err := rows.Err(); err != nil {
		return nil, res, classify("top interfaces", err, s.cfg.RetryAfter)
	}
	return top, res, nil
}

// Availability is the share of a device's polls that it answered.
type Availability struct {
	Node           string  `json:"node"`
	Polls          uint64  `json:"polls"`
	ReachablePolls uint64  `json:"reachable_polls"`
	Percent        float64 `json:"percent"`
}

// Availability returns the availability of the nodes (every node with
// samples when nodes is empty) over a range, sorted by node: from the raw
// device samples, or from the hourly rollup (whole hours) when the range
// starts before the raw samples' retention.
func (s *Store) Availability(ctx context.Context, nodes []string, from, to time.Time) (av []Availability, res Resolution, err error) {
	if err := checkRange(from, to); err != nil {
		return nil, "", err
	}
	res = ResolutionRaw
	if s.resolution(time.Second, from, time.Now()) != ResolutionRaw {
		res = ResolutionHour
	}
	start := time.Now()
	defer func() { s.observe("availability", start, err) }()
	var query string
	cond := ""
	if len(nodes) > 0 {
		quoted := make([]string, len(nodes))
		for i, n := range nodes {
			quoted[i] = quote(n)
		}
		cond = " AND node IN (" + strings.Join(quoted, ", ") + ")"
	}
	if res == ResolutionRaw {
		query = fmt.Sprintf(`SELECT node, count(), sum(toUInt64(reachable)) FROM device_samples
			WHERE ts >= %s AND ts < %s%s GROUP BY node ORDER BY node`, dateTime(from), dateTime(to), cond)
	} else {
		query = fmt.Sprintf(`SELECT node, sum(polls), sum(reachable_polls) FROM device_samples_1h
			WHERE bucket >= %s AND bucket < %s%s GROUP BY node ORDER BY node`, dateTime(from.Truncate(time.Hour)), dateTime(to), cond)
	}
	rows, err := s.conn.Query(ctx, query)
	if err != nil {
		return nil, res, classify("availability", err, s.cfg.RetryAfter)
	}
	defer rows.Close()
	for rows.Next() {
		var a Availability
		if err := rows.Scan(&a.Node, &a.Polls, &a.ReachablePolls); err != nil {
			return nil, res, classify("availability", err, s.cfg.RetryAfter)
		}
		if a.Polls > 0 {
			a.Percent = 100 * float64(a.ReachablePolls) / float64(a.Polls)
		}
		av = append(av, a)
	}
	if err := rows.Err(); err != nil {
		return nil, res, classify("availability", err, s.cfg.RetryAfter)
	}
	return av, res, nil
}

// Latest returns the newest state of every node and interface sampled
// since the given time, from the raw samples (argMax by time), sorted by
// node and interface index: what the collector's in-memory latest-state
// view starts from. The system group and vendor are those of the newest
// reachable sample (a failed poll has none), as the view keeps them:
// empty when only rows written before they were stored exist. Rates are
// those of the newest sample (nil when it had none) on 18.16; current
// releases' argMax skips NULLs and give the newest rates that exist.
func (s *Store) Latest(ctx context.Context, since time.Time) (states []model.DeviceState, err error) {
	start := time.Now()
	defer func() { s.observe("latest", start, err) }()
	byNode := map[string]*model.DeviceState{}
	get := func(node string) *model.DeviceState {
		d := byNode[node]
		if d == nil {
			d = &model.DeviceState{Node: node, Interfaces: []model.InterfaceState{}}
			byNode[node] = d
		}
		return d
	}

	rows, err := s.conn.Query(ctx, `SELECT node, max(ts), argMax(reachable, ts), argMax(error, ts), argMax(uptime_seconds, ts),
			argMaxIf(sys_name, ts, reachable = 1), argMaxIf(sys_descr, ts, reachable = 1),
			argMaxIf(sys_object_id, ts, reachable = 1), argMaxIf(vendor, ts, reachable = 1)
		FROM device_samples WHERE ts >= `+dateTime(since)+` GROUP BY node`)
	if err != nil {
		return nil, classify("latest device state", err, s.cfg.RetryAfter)
	}
	for rows.Next() {
		var node, errText, sysName, sysDescr, sysOID, vendor string
		var last time.Time
		var reachable uint8
		var uptime uint64
		if err := rows.Scan(&node, &last, &reachable, &errText, &uptime, &sysName, &sysDescr, &sysOID, &vendor); err != nil {
			rows.Close()
			return nil, classify("latest device state", err, s.cfg.RetryAfter)
		}
		d := get(node)
		d.LastPoll, d.Reachable, d.Error, d.UptimeSeconds = last.UTC(), reachable == 1, errText, int64(uptime)
		d.SysName, d.SysDescr, d.SysObjectID, d.Vendor = sysName, sysDescr, sysOID, model.Vendor(vendor)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify("latest device state", err, s.cfg.RetryAfter)
	}

	cols := []string{"argMax(ifindex, ts)", "argMax(ifdescr, ts)", "argMax(ifalias, ts)", "argMax(iftype, ts)",
		"toString(argMax(admin_status, ts))", "toString(argMax(oper_status, ts))", "argMax(speed_bps, ts)"}
	for _, c := range rateColumns {
		cols = append(cols, fmt.Sprintf("argMax(%s, ts)", c))
	}
	rows, err = s.conn.Query(ctx, `SELECT node, ifname, `+strings.Join(cols, ", ")+`
		FROM interface_samples WHERE ts >= `+dateTime(since)+` GROUP BY node, ifname`)
	if err != nil {
		return nil, classify("latest interface state", err, s.cfg.RetryAfter)
	}
	defer rows.Close()
	for rows.Next() {
		var node string
		var ifindex uint32
		var admin, oper string
		var i model.InterfaceState
		if err := rows.Scan(&node, &i.Name, &ifindex, &i.Descr, &i.Alias, &i.Type, &admin, &oper, &i.SpeedBps,
			&i.InBps, &i.OutBps, &i.InPps, &i.OutPps, &i.InErrorsRate, &i.OutErrorsRate, &i.InDiscardsRate, &i.OutDiscardsRate); err != nil {
			return nil, classify("latest interface state", err, s.cfg.RetryAfter)
		}
		i.Index, i.AdminStatus, i.OperStatus = int(ifindex), model.IfStatus(admin), model.IfStatus(oper)
		d := get(node)
		d.Interfaces = append(d.Interfaces, i)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("latest interface state", err, s.cfg.RetryAfter)
	}

	states = make([]model.DeviceState, 0, len(byNode))
	for _, d := range byNode {
		sort.Slice(d.Interfaces, func(a, b int) bool {
			if d.Interfaces[a].Index != d.Interfaces[b].Index {
				return d.Interfaces[a].Index < d.Interfaces[b].Index
			}
			return d.Interfaces[a].Name < d.Interfaces[b].Name
		})
		states = append(states, *d)
	}
	sort.Slice(states, func(a, b int) bool { return states[a].Node < states[b].Node })
	return states, nil
}
