// Package testsupport starts the real servers that integration tests need
// (embedded etcd today; ClickHouse and simulated devices later) and gives
// tests a logger that writes through t.Log.
package testsupport

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/unet-project/unet/collector/desired/embedded"
)

// Etcd starts a fresh embedded etcd in a temporary directory on free
// loopback ports, with fast raft timings and no fsync, and returns a client
// to it. Both are closed when the test ends.
func Etcd(t testing.TB) *clientv3.Client {
	t.Helper()
	_, cli := EtcdServer(t)
	return cli
}

// EtcdServer is Etcd that also returns the server, for tests that stop it.
func EtcdServer(t testing.TB) (*embedded.Server, *clientv3.Client) {
	t.Helper()
	var srv *embedded.Server
	var err error
	// A port free a moment ago may be taken by the time etcd binds it
	// (parallel tests): try other ports.
	for attempt := 0; attempt < 5; attempt++ {
		cfg := embedded.DefaultConfig(t.TempDir())
		cfg.ClientURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		cfg.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", FreePort(t))
		cfg.Fast = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		srv, err = embedded.Start(ctx, cfg, Logger(t))
		cancel()
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(srv.Close)
	cli, err := srv.Client()
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return srv, cli
}

// Ports FreePort picks from: below the kernel's ephemeral range (32768 and
// up on Linux), so that an outgoing connection's local port never takes a
// port a test chose and has yet to bind (or binds again after a restart).
const (
	freePortMin = 20000
	freePortMax = 32000
)

// FreePort returns a port free on 127.0.0.1 for TCP and UDP a moment ago,
// chosen at random below the ephemeral range.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := freePortMin + rand.IntN(freePortMax-freePortMin)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Logger returns a logger that writes through t.Log, at debug level, so
// logs show up with the failing test and nowhere else.
func Logger(t testing.TB) *slog.Logger {
	t.Helper()
	w := &tWriter{t: t}
	// Background goroutines (etcd's among them) may log after the test
	// returns, when t.Log panics: from the cleanup on, logs are dropped.
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}
