package testsupport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ClickHouse starts a fresh ClickHouse server (the clickhouse-server of the
// OS packages, with deploy/clickhouse's configuration) in a temporary
// directory on free loopback ports and returns its native-protocol address
// ("127.0.0.1:PORT"). The server is stopped when the test ends.
//
// The test fails, and does not skip, when clickhouse-server is missing or
// does not start: `make test` installs it (deploy/install-deps.sh).
func ClickHouse(t testing.TB) string {
	t.Helper()
	return StartClickHouse(t).Addr
}

// ClickHouseServer is a ClickHouse server that a test started, for tests
// that stop and restart it.
type ClickHouseServer struct {
	Addr     string // native protocol, 127.0.0.1:PORT
	HTTPAddr string // HTTP interface, 127.0.0.1:PORT
	Dir      string // data and logs

	t      testing.TB
	script string
	tcp    int
	http   int
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartClickHouse is ClickHouse that returns the server.
func StartClickHouse(t testing.TB) *ClickHouseServer {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("ClickHouse: %v", err)
	}
	s := &ClickHouseServer{
		t:      t,
		script: filepath.Join(root, "deploy", "clickhouse", "run.sh"),
		Dir:    t.TempDir(),
		tcp:    FreePort(t),
		http:   FreePort(t),
	}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", s.tcp)
	s.HTTPAddr = fmt.Sprintf("127.0.0.1:%d", s.http)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server, again after Stop, on the same ports and data,
// and waits until it answers /ping.
func (s *ClickHouseServer) Start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatalf("ClickHouse in %s is already running", s.Dir)
	}
	if _, err := exec.LookPath("clickhouse-server"); err != nil && !executable("/usr/sbin/clickhouse-server") {
		s.t.Fatalf("ClickHouse: clickhouse-server not found (%v): run deploy/install-deps.sh "+
			"or apt-get install clickhouse-server", err)
	}
	// run.sh --exec replaces itself with the server: the command line and
	// configuration are the ones `make demo` uses, and this process owns the
	// server's pid.
	cmd := exec.Command("bash", s.script, "--exec", s.Dir, strconv.Itoa(s.tcp), strconv.Itoa(s.http))
	out, err := os.OpenFile(filepath.Join(s.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatalf("ClickHouse: %v", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	// A test binary killed by a timeout must not leave servers behind.
	cmd.SysProcAttr = dieWithParent()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("ClickHouse: start %s: %v", s.script, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(s.exited)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := "http://" + s.HTTPAddr + "/ping"
	for {
		if err := ping(ctx, url); err == nil {
			s.t.Logf("ClickHouse ready on %s in %v (data in %s)", s.Addr, time.Since(start).Round(time.Millisecond), s.Dir)
			return
		}
		select {
		case <-s.exited:
			s.cmd = nil
			s.t.Fatalf("ClickHouse exited during start (%v); its logs:\n%s", cmd.ProcessState, s.Logs())
		case <-ctx.Done():
			s.Stop()
			s.t.Fatalf("ClickHouse not ready on %s after 30 s; its logs:\n%s", s.HTTPAddr, s.Logs())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and waits for
// it to exit. Stopping a stopped server does nothing.
func (s *ClickHouseServer) Stop() {
	if s.cmd == nil {
		return
	}
	start := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	defer func() { s.t.Logf("ClickHouse stopped in %v", time.Since(start).Round(time.Millisecond)) }()
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Logs returns the tail of the server's logs, for failure messages.
func (s *ClickHouseServer) Logs() string {
	var b strings.Builder
	for _, name := range []string{"stdout.log", "clickhouse.err.log"} {
		data, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", name, data)
	}
	return b.String()
}

// noKeepAlive returns an HTTP client that closes its connections: the
// server waits for idle ones (keep_alive_timeout, 3 s) before it stops.
func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := noKeepAlive().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// executable says path is an executable file (run.sh looks for the
// server in /usr/sbin too, which a user's PATH may lack).
func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// repoRoot is the directory of go.mod above the working directory (go test
// runs each package in its own directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: cannot find deploy/clickhouse/run.sh")
		}
		dir = parent
	}
}
