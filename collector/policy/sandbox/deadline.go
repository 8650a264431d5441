package sandbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// The deadline of a call is a budget of CPU time, with a longer wall-clock
// backstop. A pure wall-clock deadline misfires on a busy host: with the
// two shared cores of the test machines under load, calls that need 0.3 ms
// of CPU were measured taking 200–800 ms of wall time, and their rules
// turned to errors for no fault of the module. The guest runs on the
// calling goroutine, which the call locks to its OS thread, so that the
// thread's CPU clock counts the guest's work (and the host functions it
// calls) and nothing else.

// backstopFactor times CallTimeout is the wall-clock limit of a call,
// however little CPU it got: the host may be overloaded, but a call must
// end. It is generous because the guest cannot wait on anything (no host
// function blocks, and WASI's sleep is wazero's fake one): a call that reaches it was starved of CPU, and its
// rule gets an error only when the host is hopelessly overloaded.
const backstopFactor = 100

var (
	errCPUDeadline  = errors.New("cpu deadline")
	errWallDeadline = errors.New("wall deadline")
)

// budget is the deadline of one call. Use: lockThread, startBudget, the
// call with budget.ctx, stop, then unlock.
type budget struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	cpu    time.Duration
	wall   time.Duration

	clock    func() (int64, bool) // CPU time of the call's thread; nil: wall clock only
	cpuStart int64
	start    time.Time

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

// startBudget returns the context of a call on th, the current OS thread:
// done after cpu of the thread's CPU time, or wall of wall time, or when
// parent is done.
func startBudget(parent context.Context, th *osThread, cpu, wall time.Duration) *budget {
	b := &budget{cpu: cpu, wall: wall, start: time.Now(), clock: th.clock}
	b.ctx, b.cancel = context.WithCancelCause(parent)
	ok := false
	if b.clock != nil {
		b.cpuStart, ok = b.clock()
	}
	if !ok {
		b.clock, b.wall = nil, cpu
	}
	// A timer, not a goroutine: most calls end long before it fires. The
	// lock keeps check from reading b.timer before it is set.
	b.mu.Lock()
	b.timer = time.AfterFunc(cpu, b.check)
	b.mu.Unlock()
	return b
}

// check runs when the CPU budget could be spent: it cancels the call, or
// waits again for what is left of the budget.
func (b *budget) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	elapsed := time.Since(b.start)
	if b.clock == nil {
		b.done = true
		b.cancel(errCPUDeadline) // a wall-clock deadline, in fact
		return
	}
	now, _ := b.clock()
	used := time.Duration(now - b.cpuStart)
	if used >= b.cpu {
		b.done = true
		b.cancel(errCPUDeadline)
		return
	}
	if elapsed >= b.wall {
		b.done = true
		b.cancel(errWallDeadline)
		return
	}
	// The thread cannot spend CPU faster than wall time passes.
	b.timer.Reset(min(b.cpu-used, b.wall-elapsed))
}

// stop ends the budget and returns the CPU (when the deadline was reached:
// reading it is a system call) and wall time the call took. It must run on
// the call's thread, before unlocking it.
func (b *budget) stop() (cpu, wall time.Duration) {
	wall = time.Since(b.start)
	if b.clock != nil && context.Cause(b.ctx) != nil {
		now, _ := b.clock()
		cpu = time.Duration(now - b.cpuStart)
	}
	b.mu.Lock()
	b.done = true
	b.timer.Stop()
	b.mu.Unlock()
	b.cancel(nil)
	return cpu, wall
}

// timeout says why the call's context ended, or "" when it did not end by
// the budget.
func (b *budget) timeout(cpu, wall time.Duration) string {
	switch context.Cause(b.ctx) {
	case errCPUDeadline:
		return fmt.Sprintf("deadline of %v exceeded", b.cpu)
	case errWallDeadline:
		return fmt.Sprintf("deadline of %v exceeded: the call got %v of CPU in %v of wall time, the host is overloaded",
			b.wall, cpu.Round(time.Millisecond), wall.Round(time.Millisecond))
	}
	return ""
}

// osThread is the OS thread that a sequence of calls runs on, locked to
// the goroutine making them, with its CPU clock (nil when the system has
// none).
type osThread struct {
	clock func() (int64, bool)
}

// lockThread pins the calling goroutine to its OS thread for a sequence
// of calls; the returned function unpins it. Locking once for several
// calls saves system calls: they cost microseconds on the test machines'
// virtual CPUs.
func lockThread() (*osThread, func()) {
	runtime.LockOSThread()
	clock, _ := threadClock()
	return &osThread{clock: clock}, runtime.UnlockOSThread
}
