// Package benchkit holds what the benchmark programs under bench/ share:
// a ClickHouse server of their own started with the project's script, the
// machine's load and a process's CPU time for the reports, and an agent's
// POST of one batch to the collector's ingest endpoint.
package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/unet-project/unet/shared/wire"
)

// clickhouseScript is deploy/clickhouse/run.sh, relative to the repository.
const clickhouseScript = "deploy/clickhouse/run.sh"

// RepoRoot is the repository holding the working directory: the benchmarks
// run with `go run ./bench/…` from it or below it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, clickhouseScript)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("deploy/clickhouse/run.sh not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

// ClickHouse is a server started by StartClickHouse.
type ClickHouse struct {
	Addr string // native protocol, 127.0.0.1:PORT
	PID  int
	Stop func()
}

// StartClickHouse starts a server with data in dir on free ports, with the
// script that make demo and the tests use.
func StartClickHouse(dir string) (*ClickHouse, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	script := filepath.Join(root, clickhouseScript)
	tcp, httpPort := FreePort(), FreePort()
	out, err := exec.Command(script, dir, strconv.Itoa(tcp), strconv.Itoa(httpPort)).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("start ClickHouse: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "clickhouse.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	ch := &ClickHouse{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp)), PID: pid,
		Stop: func() { _ = exec.Command(script, "--stop", dir).Run() }}
	fmt.Printf("ClickHouse on %s (pid %d, data in %s)\n", ch.Addr, pid, dir)
	return ch, nil
}

// FreePort asks the kernel for a free port; the server binds it a moment
// later (a race another process could win; run.sh then fails loudly).
func FreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// LoadAvg is the machine's 1, 5 and 15-minute load averages, "?" when
// unknown.
func LoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ProcessCPU is a process's user + system CPU time so far: getrusage for
// this process, /proc/PID/stat (clock ticks of 10 ms) for another; 0 for
// pid 0 or when unreadable.
func ProcessCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	if pid == os.Getpid() {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 14th and 15th fields.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// Memory reads a process's resident set (VmRSS) and its peak so far
// (VmHWM) from /proc/PID/status, in bytes.
func Memory(pid int) (rss, peak int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(status)) {
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			rss = kB(line)
		case strings.HasPrefix(line, "VmHWM:"):
			peak = kB(line)
		}
	}
	return rss, peak, nil
}

// kB parses "Name:   1234 kB" into bytes.
func kB(line string) int64 {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * 1024
}

// PostBatch sends one encoded batch of agent to the collector at base as
// an agent does, waiting out 429 and 503 as Retry-After says (at most
// maxWait a time when maxWait > 0; 1 s when the header is unreadable). It
// returns the time until the acknowledgement and the retries.
func PostBatch(base, agent string, body []byte, maxWait time.Duration) (time.Duration, int, error) {
	start := time.Now()
	for n := 0; ; n++ {
		req, err := http.NewRequest("POST", base+wire.IngestPath, bytes.NewReader(body))
		if err != nil {
			return 0, n, err
		}
		req.Header.Set("Content-Type", wire.ContentType)
		req.Header.Set("Content-Encoding", wire.ContentEncoding)
		req.Header.Set(wire.HeaderAgent, agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return time.Since(start), n, err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return time.Since(start), n, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			if maxWait > 0 {
				wait = min(wait, maxWait)
			}
			time.Sleep(wait)
		default:
			return time.Since(start), n, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
		}
	}
}
