package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// The history routes (/api/v1/history/…) read what the agents observed,
// from the collector's ClickHouse store; /nodes/{ref}/interfaces reads the
// newest state of a node's interfaces.

// InterfaceHistoryQuery asks for one interface's rates and status over a
// range.
type InterfaceHistoryQuery struct {
	Node   string
	IfName string
	From   time.Time // included
	To     time.Time // excluded
	// Step is the width of one point; 0 lets the collector pick one from
	// the range. At or below the poll interval the raw samples come back.
	Step time.Duration
}

// InterfacePoint is one step of an interface's history. Rates are nil when
// no sample of the step had one (no data, or a counter discontinuity).
type InterfacePoint struct {
	Time       time.Time      `json:"ts"` // the step's start, or the sample's time
	InBps      *float64       `json:"in_bps"`
	OutBps     *float64       `json:"out_bps"`
	InBpsMax   *float64       `json:"in_bps_max,omitempty"`
	OutBpsMax  *float64       `json:"out_bps_max,omitempty"`
	OperStatus model.IfStatus `json:"oper_status"` // the last of the step
	OperUp     *float64       `json:"oper_up,omitempty"`
}

// InterfaceHistory is the answer to an InterfaceHistoryQuery.
type InterfaceHistory struct {
	Node       string    `json:"node"` // the node's name, also when asked by id
	IfName     string    `json:"ifname"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Resolution string    `json:"resolution"` // raw, 5m or 1h: the table read
	// Step is the width of a point; 0 for raw samples (one point each).
	Step   Duration         `json:"step"`
	Points []InterfacePoint `json:"points"`
}

// EventQuery selects events.
type EventQuery struct {
	Node      string            // empty: every node
	Interface string            // empty: every interface, and device events
	Types     []model.EventKind // empty: every type
	From, To  time.Time
	Limit     int // 0: the collector's default
}

// Event is an observed change: an interface status change or flap, a
// reboot, a reachability change, an LLDP neighbour added or removed.
type Event struct {
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

// TopQuery asks for the busiest interfaces of a site (or of every node).
type TopQuery struct {
	Metric   string // in_bps, out_bps, utilisation, errors
	Site     string // empty: every node
	From, To time.Time
	N        int // 0: the collector's default (10)
}

// TopInterface is one interface of a top-N answer.
type TopInterface struct {
	Node      string  `json:"node"`
	Interface string  `json:"interface"`
	Value     float64 `json:"value"`
	SpeedBps  uint64  `json:"speed_bps"`
}

// AvailabilityQuery selects the devices whose availability is wanted.
type AvailabilityQuery struct {
	Node     string // one node; empty: Site's, or every node with samples
	Site     string
	From, To time.Time
}

// Availability is the share of a device's polls that it answered.
type Availability struct {
	Node           string  `json:"node"`
	Polls          uint64  `json:"polls"`
	ReachablePolls uint64  `json:"reachable_polls"`
	Percent        float64 `json:"percent"`
}

// Duration is a time.Duration in JSON: "1m0s" as the collector writes it;
// plain numbers are read as seconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("%s is not a duration", b)
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration", s)
	}
	*d = Duration(v)
	return nil
}

// rangeQuery is the from/to pair every history route takes.
func rangeQuery(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// InterfaceHistory reads one interface's history.
func (c *Client) InterfaceHistory(ctx context.Context, q InterfaceHistoryQuery) (*InterfaceHistory, error) {
	v := rangeQuery(q.From, q.To)
	v.Set("node", q.Node)
	v.Set("ifname", q.IfName)
	if q.Step > 0 {
		v.Set("step", q.Step.String())
	}
	out := &InterfaceHistory{}
	if err := c.do(ctx, request{method: "GET", path: "/history/interfaces", query: v}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Events reads the events of a range, newest first.
func (c *Client) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	v := rangeQuery(q.From, q.To)
	setIf(v, "node", q.Node)
	setIf(v, "interface", q.Interface)
	for _, t := range q.Types {
		v.Add("type", string(t))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Events []Event `json:"events"`
	}
	if err := c.do(ctx, request{method: "GET", path: "/history/events", query: v}, &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}

// TopInterfaces reads the busiest interfaces by a metric, highest first.
func (c *Client) TopInterfaces(ctx context.Context, q TopQuery) ([]TopInterface, error) {
	v := rangeQuery(q.From, q.To)
	setIf(v, "metric", q.Metric)
	setIf(v, "site", q.Site)
	if q.N > 0 {
		v.Set("n", strconv.Itoa(q.N))
	}
	var out struct {
		Items []TopInterface `json:"items"`
	}
	if err := c.do(ctx, request{method: "GET", path: "/history/top", query: v}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// Availability reads the devices' availability over a range, by node.
func (c *Client) Availability(ctx context.Context, q AvailabilityQuery) ([]Availability, error) {
	v := rangeQuery(q.From, q.To)
	setIf(v, "node", q.Node)
	setIf(v, "site", q.Site)
	var out struct {
		Items []Availability `json:"items"`
	}
	if err := c.do(ctx, request{method: "GET", path: "/history/availability", query: v}, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// NodeInterfaces reads the newest state of a node's interfaces, by ifIndex.
func (c *Client) NodeInterfaces(ctx context.Context, ref string) ([]model.InterfaceState, error) {
	var out struct {
		Interfaces []model.InterfaceState `json:"interfaces"`
	}
	if err := c.do(ctx, request{method: "GET", path: objectPath("nodes", ref) + "/interfaces"}, &out); err != nil {
		return nil, err
	}
	return out.Interfaces, nil
}
