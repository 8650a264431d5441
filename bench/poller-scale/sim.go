package main

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/unet-project/unet/shared/bundle"
)

// simulator is the unet-snmpsim child process.
type simulator struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	targets []target
	file    string // targets file for the children
}

func (s *simulator) pid() int { return s.cmd.Process.Pid }

// stop ends the simulator (SIGTERM, then SIGKILL after 5 s).
func (s *simulator) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// startSimulator builds (unless -sim) and starts unet-snmpsim, waits until
// it serves, and reads its inventory CSV into the targets.
func startSimulator(o options, tmp string) (*simulator, error) {
	bin := o.simBinary
	if bin == "" {
		bin = filepath.Join(tmp, "unet-snmpsim")
		build := exec.Command("go", "build", "-o", bin, "github.com/unet-project/unet/cmd/unet-snmpsim")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building unet-snmpsim: %w", err)
		}
	}
	csvPath := filepath.Join(tmp, "devices.csv")
	args := []string{
		"--devices", strconv.Itoa(o.devices), "--base", o.base, "--port", strconv.Itoa(o.port),
		"--interfaces", strconv.Itoa(o.interfaces), "--seed", "1",
		"--community", community, "--v3-user", v3User, "--v3-auth-proto", "sha", "--v3-priv-proto", "aes",
		"--csv", csvPath, "--stats-every", "0", "--log-level", "warn", "--log-format", "text",
	}
	if o.vendor != "" {
		args = append(args, "--vendor", o.vendor)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "UNET_SNMPSIM_V3_AUTH_KEY="+v3Auth, "UNET_SNMPSIM_V3_PRIV_KEY="+v3Priv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting unet-snmpsim: %w", err)
	}
	s := &simulator{cmd: cmd, exited: make(chan struct{})}
	serving := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "serving") && strings.Contains(line, "devices") {
				select {
				case serving <- true:
				default:
				}
				continue
			}
			fmt.Fprintln(os.Stderr, "snmpsim:", line)
		}
	}()
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-serving:
	case <-s.exited:
		return nil, fmt.Errorf("unet-snmpsim exited: %v (is UDP port %d free?)", cmd.ProcessState, o.port)
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("unet-snmpsim did not start in 60 s")
	}
	if err := s.loadTargets(csvPath, filepath.Join(tmp, "targets.txt")); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// loadTargets reads the simulator's inventory and writes the targets file
// the children read ("name address" lines): the children never parse the
// CSV, which would weigh on their peak RSS.
func (s *simulator) loadTargets(csvPath, out string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	b, rowErrs, err := bundle.DecodeCSV(f, "")
	f.Close()
	if err != nil {
		return fmt.Errorf("inventory CSV: %w", err)
	}
	if len(rowErrs) > 0 {
		return fmt.Errorf("inventory CSV: %d bad rows, first: %v", len(rowErrs), rowErrs[0])
	}
	var sb strings.Builder
	for _, n := range b.Nodes {
		a, err := netip.ParseAddr(n.ManagementAddress)
		if err != nil || !a.Is4() || a.As4()[0] != 127 {
			// Never poll anything off loopback.
			return fmt.Errorf("node %s has address %q, outside 127.0.0.0/8", n.Name, n.ManagementAddress)
		}
		s.targets = append(s.targets, target{n.Name, a.String()})
		fmt.Fprintf(&sb, "%s %s\n", n.Name, a)
	}
	if len(s.targets) == 0 {
		return fmt.Errorf("inventory CSV: no nodes")
	}
	s.file = out
	return os.WriteFile(out, []byte(sb.String()), 0o600)
}
