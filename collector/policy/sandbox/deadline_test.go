package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBudget checks which deadline ends a call: CPU time when the thread
// works, wall time when it gets no CPU (here: it sleeps).
func TestBudget(t *testing.T) {
	if _, ok := threadClock(); !ok {
		t.Skip("no thread CPU clock on this system")
	}
	tests := []struct {
		name string
		wall time.Duration
		work func(ctx context.Context)
		want string
	}{
		// A wall limit far away, so that a busy machine does not reach
		// it first.
		{"spins", 10 * time.Second, func(ctx context.Context) {
			for ctx.Err() == nil {
			}
		}, "deadline of 20ms exceeded"},
		{"starved", 100 * time.Millisecond, func(ctx context.Context) { <-ctx.Done() }, "deadline of 100ms exceeded: the call got 0s of CPU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, unlock := lockThread()
			defer unlock()
			b := startBudget(context.Background(), th, 20*time.Millisecond, tt.wall)
			tt.work(b.ctx)
			cpu, wall := b.stop()
			if got := b.timeout(cpu, wall); !strings.HasPrefix(got, tt.want) {
				t.Errorf("timeout %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("parent canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		th, unlock := lockThread()
		defer unlock()
		b := startBudget(ctx, th, time.Second, time.Second)
		cancel()
		<-b.ctx.Done()
		if got := b.timeout(b.stop()); got != "" {
			t.Errorf("timeout %q, want none", got)
		}
	})
}
