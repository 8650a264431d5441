package agents

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/internal/testsupport"
)

func startRegistry(t *testing.T, cfg Config, deps Dependencies) *Registry {
	t.Helper()
	r, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("registry never listed")
	}
	return r
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRegistryAcrossReplicas: a heartbeat reported to one replica is seen
// by another; the agent disappears from both when it stops reporting.
func TestRegistryAcrossReplicas(t *testing.T) {
	cli := testsupport.Etcd(t)
	cfg := DefaultConfig()
	cfg.TTL = 2 * time.Second
	a := startRegistry(t, cfg, Dependencies{Client: cli, Logger: testsupport.Logger(t)})
	b := startRegistry(t, cfg, Dependencies{Client: cli, Logger: testsupport.Logger(t)})

	polled := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	hb := Heartbeat{Name: "agent-1", Sites: []string{"par1"}, Address: "127.0.0.1:9181", Version: "dev", Healthy: true,
		Nodes: []NodePoll{{Node: "sw1", LastPoll: polled}, {Node: "sw2"}}}
	if err := a.Report(context.Background(), hb); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other replica to see agent-1", func() bool { return len(b.Agents()) == 1 })
	got := b.Agents()[0]
	if got.Name != "agent-1" || got.Site != "par1" || got.Owned != 2 || !got.Healthy || got.LastSeen.IsZero() {
		t.Fatalf("agent = %+v", got)
	}
	if agent, last, ok := b.NodeStatus("sw1"); !ok || agent != "agent-1" || !last.Equal(polled) {
		t.Fatalf("NodeStatus(sw1) = %q %v %v", agent, last, ok)
	}
	if agent, last, ok := b.NodeStatus("sw2"); !ok || agent != "agent-1" || !last.IsZero() {
		t.Fatalf("NodeStatus(sw2) = %q %v %v", agent, last, ok)
	}
	if _, _, ok := b.NodeStatus("sw3"); ok {
		t.Fatal("sw3 is owned by nobody")
	}
	if !b.SiteCovered("par1") || b.SiteCovered("lon1") {
		t.Fatal("site coverage wrong")
	}

	// A handover: agent-2 reports sw2 later, and owns it.
	hb2 := Heartbeat{Name: "agent-2", Sites: []string{"par1"}, Healthy: true, Nodes: []NodePoll{{Node: "sw2", LastPoll: polled}}}
	if err := b.Report(context.Background(), hb2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "agent-2 to own sw2 on replica a", func() bool {
		agent, _, _ := a.NodeStatus("sw2")
		return agent == "agent-2"
	})

	// No more heartbeats: both go within the TTL (lease expiry).
	eventually(t, "the agents to expire", func() bool { return len(a.Agents()) == 0 && len(b.Agents()) == 0 })
	if _, _, ok := a.NodeStatus("sw1"); ok {
		t.Fatal("sw1 still polled by an expired agent")
	}
}

func TestHeartbeatValidation(t *testing.T) {
	cli := testsupport.Etcd(t)
	r := startRegistry(t, DefaultConfig(), Dependencies{Client: cli})
	tests := []struct {
		hb   Heartbeat
		want string
	}{
		{Heartbeat{Sites: []string{"s"}}, "name"},
		{Heartbeat{Name: "a/b", Sites: []string{"s"}}, "no slash"},
		{Heartbeat{Name: "a"}, "sites"},
		{Heartbeat{Name: "a", Sites: []string{"s"}, Nodes: []NodePoll{{}}}, "empty node name"},
	}
	for _, tc := range tests {
		err := r.Report(context.Background(), tc.hb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Report(%+v) = %v, want an error about %q", tc.hb, err, tc.want)
		}
	}
	if len(r.Agents()) != 0 {
		t.Fatal("an invalid heartbeat was stored")
	}
}
