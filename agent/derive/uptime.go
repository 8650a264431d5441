package derive

import (
	"fmt"
	"math"
	"time"
)

// Tolerance between the device's clock (sysUpTime) and the wall clock over
// one interval: a fixed part for the network and the agent's own delays,
// and a share of the interval for clock drift and sysUpTime granularity.
const (
	clockSlackSeconds = 2
	clockSlackShare   = 0.1
)

// ticksSeconds converts TimeTicks (hundredths of a second) to seconds.
func ticksSeconds(t uint32) float64 { return float64(t) / 100 }

// ticksDuration converts TimeTicks to a duration.
func ticksDuration(t uint32) time.Duration { return time.Duration(t) * 10 * time.Millisecond }

// step is what happened on the device between two successful polls.
type step struct {
	// seconds is the time between the polls: the sysUpTime difference
	// when it agrees with the wall clock (the device read its counters
	// and its uptime at the same instant, so network delays cancel out),
	// the wall-clock difference otherwise.
	seconds float64
	// reboot is set when the device restarted in between, with why.
	reboot bool
	why    string
}

// between compares a poll with the previous successful one. The device
// rebooted when its SNMPv3 engine boots count changed, when sysUpTime went
// back by more than a wrap at 2^32 explains, or when it has been up for
// less time than passed since the previous poll.
func between(prevTime time.Time, prevUptime uint32, prevHaveUptime bool, prevBoots uint32, p *Poll) step {
	wall := p.Time.Sub(prevTime).Seconds()
	if p.EngineBoots != 0 && prevBoots != 0 && p.EngineBoots != prevBoots {
		return step{reboot: true, why: fmt.Sprintf("SNMP engine boots went from %d to %d", prevBoots, p.EngineBoots)}
	}
	if !p.HaveUptime || !prevHaveUptime {
		return step{seconds: wall}
	}
	// Unsigned subtraction: a wrap at 2^32 gives the right difference.
	dev := ticksSeconds(p.Uptime - prevUptime)
	tol := clockSlackSeconds + clockSlackShare*math.Abs(wall)
	consistent := math.Abs(dev-wall) <= tol
	wentBack := p.Uptime < prevUptime
	switch {
	case wentBack && !consistent:
		return step{reboot: true, why: fmt.Sprintf("sysUpTime went back from %s to %s", fmtTicks(prevUptime), fmtTicks(p.Uptime))}
	case !wentBack && ticksSeconds(p.Uptime)+tol < wall:
		return step{reboot: true, why: fmt.Sprintf("up for %s only, %s after the previous poll", fmtTicks(p.Uptime), time.Duration(wall*float64(time.Second)).Round(time.Second))}
	case consistent || wall <= 0:
		return step{seconds: dev}
	}
	return step{seconds: wall}
}

func fmtTicks(t uint32) string { return ticksDuration(t).Round(time.Second).String() }
