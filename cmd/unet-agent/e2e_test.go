package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	"testing"
	"time"

	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
)

// End-to-end: the built binaries, as an operator runs them. A real
// collector (embedded etcd), the simulator serving five devices and
// writing their inventory, unetctl importing it, then unet-agent --once,
// and unet-agent polling until SIGTERM.

// e2eCommunity is the simulator's community: no log may show it.
const e2eCommunity = "e2e-c0mmunity-S3CRET"

// buildBinaries builds the four commands into a temporary directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const mod = "github.com/unet-project/unet/cmd/"
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		mod+"unet-agent", mod+"unet-collector", mod+"unet-snmpsim", mod+"unetctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// process is a started binary whose stderr is kept.
type process struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr *testsupport.SyncBuffer
	done   chan error
}

func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: filepath.Base(bin), cmd: exec.Command(bin, args...), stderr: &testsupport.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(syscall.SIGKILL) })
	return p
}

// stop signals the process and waits for it; it returns its exit error.
func (p *process) stop(sig syscall.Signal) error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s still running 30 s after %v", p.name, sig)
	}
}

// waitFor waits until cond holds, failing with the process's stderr.
func (p *process) waitFor(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		select {
		case err := <-p.done:
			p.t.Fatalf("%s exited (%v) while waiting for %s:\n%s", p.name, err, what, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s:\n%s", what, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runOnce runs a binary to completion and returns stdout and stderr.
func runOnce(t *testing.T, bin string, env []string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// freeUDPPort returns a UDP port that was free on every address a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// simBase is the first simulated address, from the PID, so that parallel
// runs of this test (and the other tests' fixed ranges, 127.1–127.30) do
// not share addresses.
func simBase() string {
	pid := os.Getpid()
	return fmt.Sprintf("127.%d.%d.1", 100+pid%100, 1+pid/100%250)
}

func TestE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	home := t.TempDir()
	env := []string{"HOME=" + home}

	// The collector.
	addr := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
	url := "http://" + addr
	coll := startProcess(t, filepath.Join(bin, "unet-collector"), env, "--data-dir", t.TempDir(), "--listen", addr, "--log-format", "text")
	coll.waitFor("the collector ready", func() bool { return status(url+"/readyz") == http.StatusOK })

	// Five simulated devices and their inventory.
	port := freeUDPPort(t)
	csv := filepath.Join(t.TempDir(), "devices.csv")
	sim := startProcess(t, filepath.Join(bin, "unet-snmpsim"), append(env, "UNET_SNMPSIM_COMMUNITY="+e2eCommunity),
		"--devices", "5", "--base", simBase(), "--port", strconv.Itoa(port), "--csv", csv,
		"--site", "e2e-site", "--region", "e2e-region", "--interfaces", "8", "--seed", "3", "--log-format", "text", "--stats-every", "0")
	sim.waitFor("the simulator serving", func() bool { return strings.Contains(sim.stderr.String(), "serving") })
	runOnce(t, filepath.Join(bin, "unetctl"), env, "--server", url, "import", csv)

	// The CSV gives the profile the simulator's port.
	client, err := apiclient.New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := client.GetSNMPProfile(ctx, "e2e-site-snmp"); err != nil || p.Port != port {
		t.Fatalf("profile %+v (%v), want port %d", p, err, port)
	}
	nodes, err := client.ListAllNodes(ctx, apiclient.NodeFilter{Location: "e2e-site"}, apiclient.ListOptions{})
	if err != nil || len(nodes) != 5 {
		t.Fatalf("imported nodes %v (%v)", nodes, err)
	}

	agentBin := filepath.Join(bin, "unet-agent")
	t.Run("once json", func(t *testing.T) {
		out, stderr := runOnce(t, agentBin, env, "--collector", url, "--site", "e2e-site", "--data-dir", t.TempDir(), "--once", "-o", "json")
		var states []map[string]any
		if err := json.Unmarshal([]byte(out), &states); err != nil {
			t.Fatalf("not a JSON array: %v\n%s", err, out)
		}
		if len(states) != 5 {
			t.Fatalf("%d states, want 5:\n%s", len(states), out)
		}
		for i, st := range states {
			checkState(t, st, nodes[i].Name)
		}
		if strings.Contains(stderr, e2eCommunity) || strings.Contains(coll.stderr.String(), e2eCommunity) {
			t.Errorf("the community is in a log")
		}
	})
	t.Run("once table", func(t *testing.T) {
		out, _ := runOnce(t, agentBin, env, "--collector", url, "--site", "e2e-site", "--data-dir", t.TempDir(), "--once", "-o", "table")
		if strings.Count(out, "  reachable  ") != 5 || strings.Count(out, "INDEX") != 5 || !strings.Contains(out, "b/s") {
			t.Errorf("table:\n%s", out)
		}
	})
	t.Run("continuous", func(t *testing.T) {
		// Poll every second, so that polls show within the test.
		runOnce(t, filepath.Join(bin, "unetctl"), env, "--server", url, "snmp-profile", "update", "e2e-site-snmp", "--interval", "1s")
		listen := fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t))
		ag := startProcess(t, agentBin, env, "--collector", url, "--site", "e2e-site", "--data-dir", t.TempDir(),
			"--listen", listen, "--log-level", "debug", "--log-format", "json")
		base := "http://" + listen
		ag.waitFor("/readyz", func() bool { return status(base+"/readyz") == http.StatusOK })
		first := -1.0
		ag.waitFor("polls counted at /metrics", func() bool {
			n := polls(base)
			if first < 0 {
				first = n
			}
			return n >= first+10 // every device twice, at least
		})
		ag.waitFor("polls logged", func() bool { return strings.Contains(ag.stderr.String(), `"msg":"polled"`) })
		if status(base+"/healthz") != http.StatusOK {
			t.Errorf("/healthz")
		}
		if err := ag.stop(syscall.SIGTERM); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, ag.stderr)
		}
		if !strings.Contains(ag.stderr.String(), "agent stopping") {
			t.Errorf("no stop log line:\n%s", ag.stderr)
		}
		if strings.Contains(ag.stderr.String(), e2eCommunity) {
			t.Errorf("the community is in the agent's log")
		}
	})
}

// checkState checks one device state of `--once -o json`.
func checkState(t *testing.T, st map[string]any, wantNode string) {
	t.Helper()
	if st["node"] != wantNode || st["reachable"] != true {
		t.Errorf("state %v, want %s reachable", st, wantNode)
		return
	}
	for _, k := range []string{"sys_name", "sys_descr", "sys_object_id"} {
		if s, _ := st[k].(string); s == "" {
			t.Errorf("%s: %s = %v", wantNode, k, st[k])
		}
	}
	if up, _ := st["uptime_seconds"].(float64); up <= 0 {
		t.Errorf("%s: uptime_seconds = %v", wantNode, st["uptime_seconds"])
	}
	ifs, _ := st["interfaces"].([]any)
	if len(ifs) != 8 {
		t.Fatalf("%s: %d interfaces, want 8", wantNode, len(ifs))
	}
	for _, x := range ifs {
		ifc := x.(map[string]any)
		for _, k := range []string{"index", "name", "descr", "alias", "type", "admin_status", "oper_status", "speed_bps", "in_bps", "out_bps"} {
			if _, ok := ifc[k]; !ok {
				t.Errorf("%s: interface without %s: %v", wantNode, k, ifc)
			}
		}
		if s := ifc["oper_status"]; s != "up" && s != "down" {
			t.Errorf("%s: oper_status %v", wantNode, s)
		}
		if s := ifc["admin_status"]; s != "up" && s != "down" {
			t.Errorf("%s: admin_status %v", wantNode, s)
		}
		if name, _ := ifc["name"].(string); name == "" {
			t.Errorf("%s: interface without a name: %v", wantNode, ifc)
		}
		if speed, _ := ifc["speed_bps"].(float64); speed <= 0 {
			t.Errorf("%s: speed_bps %v", wantNode, ifc["speed_bps"])
		}
		for _, k := range []string{"in_bps", "out_bps"} {
			if v, ok := ifc[k].(float64); !ok || v < 0 {
				t.Errorf("%s: %s = %v", wantNode, k, ifc[k])
			}
		}
	}
}

// polls reads unet_poller_polls_total (both results) at base/metrics.
func polls(base string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "unet_poller_polls_total{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
