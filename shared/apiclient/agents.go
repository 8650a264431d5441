package apiclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Heartbeat is what an agent reports every few seconds (POST
// /api/v1/agent/heartbeat).
type Heartbeat struct {
	Name    string     `json:"name"`
	Sites   []string   `json:"sites"`
	Address string     `json:"address,omitempty"`
	Version string     `json:"version,omitempty"`
	Healthy bool       `json:"healthy"`
	Members []string   `json:"members,omitempty"`
	Nodes   []NodePoll `json:"nodes"`
}

// NodePoll is a node an agent owns and its last poll (zero: not yet).
type NodePoll struct {
	Node     string    `json:"node"`
	LastPoll time.Time `json:"last_poll,omitzero"`
}

// Agent is a live agent as GET /api/v1/agents lists it.
type Agent struct {
	Name     string    `json:"name"`
	Site     string    `json:"site"`
	Sites    []string  `json:"sites"`
	Address  string    `json:"address,omitempty"`
	Version  string    `json:"version,omitempty"`
	Healthy  bool      `json:"healthy"`
	LastSeen time.Time `json:"last_seen"`
	Owned    int       `json:"owned"`
	Members  []string  `json:"members,omitempty"`
}

// NodeStatus is GET /api/v1/nodes/{ref}/status: the newest observed state
// and who polls the node.
type NodeStatus struct {
	model.DeviceState
	PolledBy string `json:"polled_by"`
	Unpolled bool   `json:"unpolled"`
	Pollable bool   `json:"pollable"`
	Site     string `json:"site,omitempty"`
}

// Heartbeat reports the agent.
func (c *Client) Heartbeat(ctx context.Context, hb Heartbeat) error {
	body, err := jsonBody(hb)
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: "POST", path: "/agent/heartbeat", body: body, ctype: "application/json"}, nil)
}

// Agents lists the live agents.
func (c *Client) Agents(ctx context.Context) ([]Agent, error) {
	var out []Agent
	if err := c.do(ctx, request{method: "GET", path: "/agents"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// NodeStatus reads a node's status.
func (c *Client) NodeStatus(ctx context.Context, ref string) (*NodeStatus, error) {
	out := &NodeStatus{}
	if err := c.do(ctx, request{method: "GET", path: objectPath("nodes", ref) + "/status"}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// InventoryEvent is one change of an agent's inventory. Type is "upsert"
// (Node and SNMPProfile set), "delete" (NodeName), "profile"
// (SNMPProfile), "progress" (Revision only) or "resync" (Reason: fetch the
// inventory again). SNMPProfile holds SECRETS.
type InventoryEvent struct {
	Type        string
	Revision    int64
	Node        *model.Node
	NodeName    string
	SNMPProfile *model.SNMPProfile
	Reason      string
}

// ErrResync is returned by WatchInventory after a resync event.
var ErrResync = errors.New("the collector asks for a full inventory")

// WatchInventory follows the changes of the sites' inventory after
// revision, calling fn for each event in order, until ctx ends, fn fails,
// the stream breaks or the collector asks for a resync (ErrResync, after
// fn saw the event). Give it a client without an overall timeout: the
// stream stays open.
func (c *Client) WatchInventory(ctx context.Context, sites []string, revision int64, fn func(InventoryEvent) error) error {
	if len(sites) == 0 {
		return errors.New("inventory watch: no site given")
	}
	q := url.Values{"site": sites, "revision": {strconv.FormatInt(revision, 10)}}
	resp, err := c.send(ctx, request{method: "GET", path: "/agent/inventory/watch", query: q, accept: "text/event-stream"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":"):
			// a comment
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "":
			if event == "" && data.Len() == 0 {
				continue
			}
			ev, err := decodeInventoryEvent(event, data.String())
			event = ""
			data.Reset()
			if err != nil {
				return err
			}
			if err := fn(ev); err != nil {
				return err
			}
			if ev.Type == "resync" {
				return fmt.Errorf("%w: %s", ErrResync, ev.Reason)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return c.transportError(ctx, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("inventory watch: the collector closed the stream")
}

func decodeInventoryEvent(event, data string) (InventoryEvent, error) {
	var raw struct {
		Revision    int64              `json:"revision"`
		Node        json.RawMessage    `json:"node"`
		SNMPProfile *model.SNMPProfile `json:"snmp_profile"`
		Reason      string             `json:"reason"`
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return InventoryEvent{}, fmt.Errorf("inventory watch: %s event: %w", event, err)
	}
	ev := InventoryEvent{Type: event, Revision: raw.Revision, SNMPProfile: raw.SNMPProfile, Reason: raw.Reason}
	switch event {
	case "upsert":
		var n model.Node
		if err := json.Unmarshal(raw.Node, &n); err != nil || raw.SNMPProfile == nil {
			return ev, fmt.Errorf("inventory watch: upsert event without a node and its profile")
		}
		ev.Node = &n
	case "delete":
		if err := json.Unmarshal(raw.Node, &ev.NodeName); err != nil || ev.NodeName == "" {
			return ev, fmt.Errorf("inventory watch: delete event without a node name")
		}
	case "profile":
		if raw.SNMPProfile == nil {
			return ev, fmt.Errorf("inventory watch: profile event without a profile")
		}
	case "progress", "resync":
	default:
		// An event of a newer collector: skip it.
		ev.Type = "unknown:" + event
	}
	return ev, nil
}
