package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hashicorp/memberlist"
)

// meta is what a member advertises in memberlist's node metadata (at most
// 512 bytes). JSON with short keys: new fields can be added without
// breaking older agents, which ignore them.
type meta struct {
	Site    string `json:"s"`
	Version string `json:"v,omitempty"`
	API     string `json:"a,omitempty"`
	Healthy bool   `json:"h,omitempty"`
	// Ring is the ring configuration (load factor/virtual nodes): agents
	// that disagree on it compute different maps.
	Ring string `json:"r,omitempty"`
}

// Member is a live member of the cluster as its metadata describes it.
type Member struct {
	// Name is the member's (agent's) name, unique in the cluster.
	Name string
	// Address is where it gossips (host:port).
	Address string
	// Site is its shard group (Config.Site).
	Site string
	// Version is the agent's version.
	Version string
	// APIAddress is the agent's HTTP address.
	APIAddress string
	// Healthy: the member is ready to poll (it has its inventory) and
	// takes a share of the nodes.
	Healthy bool
	// Ring is the member's ring configuration, as "load-factor/vnodes".
	Ring string
}

func memberOf(n *memberlist.Node) (Member, error) {
	var md meta
	if err := json.Unmarshal(n.Meta, &md); err != nil {
		return Member{}, fmt.Errorf("member %s at %s: unreadable metadata (not a μNet agent?): %w", n.Name, n.Address(), err)
	}
	return Member{
		Name:       n.Name,
		Address:    n.Address(),
		Site:       md.Site,
		Version:    md.Version,
		APIAddress: md.API,
		Healthy:    md.Healthy,
		Ring:       md.Ring,
	}, nil
}

// delegate gives memberlist this member's metadata and tells the cluster
// of every change. memberlist calls the event methods with its node lock
// held: they must neither block nor call back into memberlist, so they
// only copy the node and wake the cluster's loop.
type delegate struct{ c *Cluster }

func (d delegate) NodeMeta(limit int) []byte {
	b, _ := json.Marshal(meta{
		Site:    d.c.cfg.Site,
		Version: d.c.cfg.Version,
		API:     d.c.cfg.APIAddress,
		Healthy: d.c.healthy.Load(),
		Ring:    d.c.ringID,
	})
	if len(b) > limit {
		// Config limits make this impossible; an empty meta reads as
		// "not a μNet agent" rather than panicking memberlist.
		return nil
	}
	return b
}

func (d delegate) NotifyMsg([]byte)                           {}
func (d delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d delegate) LocalState(join bool) []byte                { return nil }
func (d delegate) MergeRemoteState(buf []byte, join bool)     {}

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.c.nodeEvent(n, true) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.c.nodeEvent(n, false) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.c.nodeEvent(n, true) }

func (d delegate) NotifyConflict(existing, other *memberlist.Node) {
	d.c.log.Error("two agents use the same cluster name: give each a unique name",
		"name", existing.Name, "address", existing.Address(), "other_address", other.Address())
}

// logWriter turns memberlist's log lines ("[LEVEL] memberlist: text") into
// slog records. memberlist is chatty about routine events (every probe
// that fails while a member dies is an [ERR]), so everything goes to
// debug, except what only the operator can fix: an encryption mismatch,
// which memberlist reports on the receiving side only.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := ""
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i > 0 {
			level, line = line[1:i], strings.TrimSpace(line[i+1:])
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	if isKeyMismatch(line) {
		w.log.Warn("gossip from a member with another encryption key (or none): check the cluster secret-key of every agent", "detail", line)
		return len(p), nil
	}
	w.log.Debug(line, "memberlist_level", level)
	return len(p), nil
}

// isKeyMismatch recognizes memberlist's messages about a peer whose
// gossip encryption differs from ours.
func isKeyMismatch(s string) bool {
	s = strings.ToLower(s)
	for _, m := range []string{"no installed keys could decrypt", "encryption is not configured", "remote state is not encrypted", "failed to decrypt"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
