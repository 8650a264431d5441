package sandbox

import "golang.org/x/sys/unix"

// threadClock returns a function reading the CPU time of the calling OS
// thread (which the caller has locked), from any thread: Linux names the
// CPU clock of thread TID by ((^TID) << 3) | CPUCLOCK_PERTHREAD |
// CPUCLOCK_SCHED (see clock_getcpuclockid(3) and the kernel's
// posix-cpu-timers). The first read tells whether the clock works.
func threadClock() (func() (int64, bool), bool) {
	clk := int32(^unix.Gettid())<<3 | 4 | 2
	return func() (int64, bool) {
		var ts unix.Timespec
		if unix.ClockGettime(clk, &ts) != nil {
			return 0, false
		}
		return ts.Nano(), true
	}, true
}
