package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/unet-project/unet/bench/internal/benchkit"
)

// Readings of /proc, for the agent and simulator child processes and the
// machine. Linux only, as the benchmark is.

// clockTick is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procSample is one reading of a process.
type procSample struct {
	at  time.Time
	cpu time.Duration // user + system, all threads
	rss int64         // VmRSS, bytes
	hwm int64         // VmHWM (peak RSS so far), bytes
}

// readProc reads the CPU time and memory of process pid.
func readProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields that matter come after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	s.cpu = time.Duration(ut+st) * clockTick
	s.rss, s.hwm, err = benchkit.Memory(pid)
	return s, err
}

// udpStats are the kernel's UDP counters (/proc/net/snmp). They cover the
// whole network namespace: other programs on the machine count too.
type udpStats struct {
	InDatagrams, InErrors, RcvbufErrors, SndbufErrors int64
	ok                                                bool
}

func readUDPStats() udpStats {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return udpStats{}
	}
	var header []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Udp: ") {
			continue
		}
		f := strings.Fields(line)[1:]
		if header == nil {
			header = f
			continue
		}
		var u udpStats
		for i, name := range header {
			if i >= len(f) {
				break
			}
			v, _ := strconv.ParseInt(f[i], 10, 64)
			switch name {
			case "InDatagrams":
				u.InDatagrams = v
			case "InErrors":
				u.InErrors = v
			case "RcvbufErrors":
				u.RcvbufErrors = v
			case "SndbufErrors":
				u.SndbufErrors = v
			}
		}
		u.ok = true
		return u
	}
	return udpStats{}
}

func (u udpStats) sub(v udpStats) udpStats {
	return udpStats{
		InDatagrams: u.InDatagrams - v.InDatagrams, InErrors: u.InErrors - v.InErrors,
		RcvbufErrors: u.RcvbufErrors - v.RcvbufErrors, SndbufErrors: u.SndbufErrors - v.SndbufErrors,
		ok: u.ok && v.ok,
	}
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
