package sandbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/unet-project/unet/collector/policy/abi"
)

// Module is a loaded policy module: its manifest and a pool of instances.
// It is safe for concurrent use.
type Module struct {
	rt       *Runtime
	hash     string
	compiled wazero.CompiledModule
	manifest abi.Manifest
	regexes  []*regexp.Regexp
	goGuest  bool

	refs int // Loads not yet Closed; guarded by rt.mu

	// Eval holds mu for reading; close takes it for writing, so it waits
	// for the evaluations in flight before closing the instances.
	mu     sync.RWMutex
	closed bool
	pool   chan *instance // idle instances, at most Parallelism
}

// RuleResult is the outcome of one rule over all the records of an Eval.
type RuleResult struct {
	// Verdicts has one verdict per record, in the order of the records.
	Verdicts []abi.Verdict
	// Errors says why some verdicts are abi.Error: each covers a batch of
	// records whose call failed. Sorted by First.
	Errors []BatchError
}

// BatchError is a failed call: the records [First, Last) got abi.Error for
// that rule. Err names the rule and the cause.
type BatchError struct {
	First, Last int
	Err         error
}

// Manifest returns the module's manifest. Callers must not modify it.
func (m *Module) Manifest() abi.Manifest { return m.manifest }

// Hash is the hex SHA-256 of the module's bytes.
func (m *Module) Hash() string { return m.hash }

// Close releases the caller's Load: the module is closed when every Load of
// it is released. It waits for the evaluations in flight.
func (m *Module) Close(ctx context.Context) error {
	rt := m.rt
	rt.mu.Lock()
	if m.refs == 0 {
		rt.mu.Unlock()
		return nil
	}
	m.refs--
	last := m.refs == 0
	if l, ok := rt.modules[m.hash]; ok && last {
		// The entry may be a new Load of the same bytes, still running:
		// its m is written without the lock until done is closed.
		select {
		case <-l.done:
			if l.m == m {
				delete(rt.modules, m.hash)
			}
		default:
		}
	}
	rt.mu.Unlock()
	if last {
		m.close(ctx)
	}
	return nil
}

func (m *Module) close(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	for len(m.pool) > 0 { // no Eval can put one back: we hold mu
		(<-m.pool).close(ctx)
	}
	m.compiled.Close(ctx)
}

// Eval runs every rule of the module over records, each of which has one
// value per manifest field, in field order. It returns one RuleResult per
// manifest rule. A failing call (trap, deadline, memory, error code,
// garbage verdict) turns that rule's verdicts for that batch into
// abi.Error and is reported in RuleResult.Errors; it is no error of Eval,
// which fails only on bad records, a closed module or a done ctx.
func (m *Module) Eval(ctx context.Context, records [][]abi.Value) ([]RuleResult, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, fmt.Errorf("policy module %s: closed", shortHash(m.hash))
	}
	nfields, nrules := len(m.manifest.Fields), len(m.manifest.Rules)
	batches, err := m.cut(records)
	if err != nil {
		return nil, err
	}
	results := make([]RuleResult, nrules)
	for i := range results {
		results[i].Verdicts = make([]abi.Verdict, len(records))
	}
	if len(records) == 0 || nrules == 0 {
		return results, nil
	}

	// Units of work: every batch with a range of rules. With fewer batches
	// than workers, rules are split too, so that one batch of many rules
	// still uses every core.
	type unit struct {
		batch        batch
		rule0, rule1 int
	}
	par := m.rt.cfg.Parallelism
	chunks := 1
	if len(batches) < par {
		chunks = min((par+len(batches)-1)/len(batches), nrules)
	}
	per := (nrules + chunks - 1) / chunks
	var units []unit
	for _, b := range batches {
		for r := 0; r < nrules; r += per {
			units = append(units, unit{b, r, min(r+per, nrules)})
		}
	}

	ctx = context.WithValue(ctx, callStateKey{}, &callState{regexes: m.regexes})
	var (
		mu       sync.Mutex
		failures int
		first    error
		wg       sync.WaitGroup
		work     = make(chan unit)
	)
	fail := func(rule, from, to int, err error) {
		for i := from; i < to; i++ {
			results[rule].Verdicts[i] = abi.Error
		}
		mu.Lock()
		results[rule].Errors = append(results[rule].Errors, BatchError{First: from, Last: to, Err: err})
		failures++
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	if workers := min(par, len(units)); workers == 1 {
		// No goroutines to start and wake: the common case of a small
		// Eval, or of Parallelism 1.
		for _, u := range units {
			m.evalUnit(ctx, records, u.batch, nfields, u.rule0, u.rule1, results, fail)
		}
	} else {
		for range workers {
			wg.Go(func() {
				for u := range work {
					m.evalUnit(ctx, records, u.batch, nfields, u.rule0, u.rule1, results, fail)
				}
			})
		}
		for _, u := range units {
			work <- u
		}
		close(work)
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if failures > 0 {
		m.rt.log.Warn("policy module calls failed", "module", shortHash(m.hash),
			"failed_calls", failures, "calls", len(batches)*nrules, "first_error", first)
	}
	for i := range results {
		sort.Slice(results[i].Errors, func(a, b int) bool { return results[i].Errors[a].First < results[i].Errors[b].First })
	}
	return results, nil
}

// batch is the records [first, last) of an Eval, laid out in size bytes.
type batch struct{ first, last, size int }

// cut checks the records and splits them into batches of at most BatchSize
// records and an eighth of the memory cap (unless one record alone is
// larger: its call will say whether it fits).
func (m *Module) cut(records [][]abi.Value) ([]batch, error) {
	nfields := len(m.manifest.Fields)
	maxBytes := int(m.rt.cfg.MemoryLimitPages) * 65536 / 8
	var batches []batch
	b := batch{}
	for i, rec := range records {
		if len(rec) != nfields {
			return nil, fmt.Errorf("policy module %s: record %d has %d values, the manifest has %d fields", shortHash(m.hash), i, len(rec), nfields)
		}
		s := abi.LayoutRecordSize(rec)
		if i > b.first && (i-b.first == m.rt.cfg.BatchSize || b.size+s > maxBytes) {
			b.last = i
			batches = append(batches, b)
			b = batch{first: i}
		}
		if b.size += s; b.size > abi.MaxBatchBytes {
			return nil, fmt.Errorf("policy module %s: record %d is larger than 4 GiB", shortHash(m.hash), i)
		}
	}
	if len(records) > b.first {
		b.last = len(records)
		batches = append(batches, b)
	}
	return batches, nil
}

// evalUnit runs rules [rule0, rule1) over one batch of records on one
// instance, taking a fresh instance after a failed call.
func (m *Module) evalUnit(ctx context.Context, records [][]abi.Value, b batch, nfields, rule0, rule1 int,
	results []RuleResult, fail func(rule, from, to int, err error)) {
	first, batch := b.first, records[b.first:b.last]
	var (
		inst    *instance
		in, out uint32
	)
	th, unlock := lockThread()
	defer unlock()
	defer func() {
		if inst != nil {
			m.put(ctx, inst)
		}
	}()
	for r := rule0; r < rule1; r++ {
		if ctx.Err() != nil {
			return
		}
		name := m.manifest.Rules[r].Name
		if inst == nil {
			var err error
			if inst, err = m.get(ctx, th); err != nil {
				fail(r, first, first+len(batch), fmt.Errorf("rule %s: %w", name, err))
				continue
			}
			if in, out, err = inst.load(ctx, th, m.rt.cfg.CallTimeout, nfields, batch, b.size); err != nil {
				inst.close(ctx)
				inst = nil
				fail(r, first, first+len(batch), fmt.Errorf("rule %s: %w", name, err))
				continue
			}
		}
		dst := results[r].Verdicts[first : first+len(batch)]
		if err := inst.eval(ctx, th, m.rt.cfg.CallTimeout, r, in, out, first, dst); err != nil {
			inst.close(ctx)
			inst = nil
			fail(r, first, first+len(batch), fmt.Errorf("rule %s: %w", name, err))
		}
	}
}

// get takes an idle instance or makes one.
func (m *Module) get(ctx context.Context, th *osThread) (*instance, error) {
	select {
	case inst := <-m.pool:
		return inst, nil
	default:
	}
	return m.newInstance(ctx, th)
}

// put returns a healthy instance to the pool, or closes it when the pool
// is full.
func (m *Module) put(ctx context.Context, inst *instance) {
	select {
	case m.pool <- inst:
	default:
		inst.close(ctx)
	}
}

// instance is one instantiation of a module, used by one call at a time.
type instance struct {
	m               *Module
	mod             api.Module
	mem             api.Memory
	allocFn, evalFn api.Function
	out             *outputWriter // nil for modules without WASI
	// buf and bufSize are the buffer of the last unet_alloc (0: none).
	buf, bufSize uint32
}

// instantiateTimeout bounds instantiation (in CPU time, as calls): a Go
// guest's _initialize starts its runtime, and a hostile start function
// must not hang Load.
func (c Config) instantiateTimeout() time.Duration { return 10 * c.CallTimeout }

func (m *Module) newInstance(ctx context.Context, th *osThread) (*instance, error) {
	mcfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: the pool holds several instances
		WithStartFunctions()
	inst := &instance{m: m}
	if m.goGuest {
		// The defaults of wazero give no arguments, environment, files or
		// sockets, a fake clock and deterministic random bytes.
		inst.out = newOutputWriter(m.rt.log, shortHash(m.hash))
		mcfg = mcfg.WithStartFunctions(abi.ExportInitialize).
			WithStdout(inst.out).WithStderr(inst.out)
	}
	timeout := m.rt.cfg.instantiateTimeout()
	b := startBudget(ctx, th, timeout, backstopFactor*m.rt.cfg.CallTimeout)
	mod, err := m.rt.wr.InstantiateModule(b.ctx, m.compiled, mcfg)
	cpu, wall := b.stop()
	if err != nil {
		msg := b.timeout(cpu, wall)
		if msg == "" {
			msg = describe(err, nil, 0)
		}
		return nil, fmt.Errorf("instantiation failed: %s", msg)
	}
	inst.mod = mod
	inst.mem = mod.ExportedMemory(abi.ExportMemory)
	inst.allocFn = mod.ExportedFunction(abi.ExportAlloc)
	inst.evalFn = mod.ExportedFunction(abi.ExportEval)
	inst.flush()
	return inst, nil
}

func (inst *instance) close(ctx context.Context) { inst.mod.Close(ctx) }

// call runs fn on th, the current OS thread, under a fresh deadline:
// timeout of CPU time, and at most backstopFactor times that of wall time
// (deadline.go).
func (inst *instance) call(ctx context.Context, th *osThread, fn api.Function, timeout time.Duration, params ...uint64) ([]uint64, error) {
	b := startBudget(ctx, th, timeout, backstopFactor*timeout)
	res, err := fn.Call(b.ctx, params...)
	cpu, wall := b.stop()
	fatal := inst.flush()
	if err != nil {
		msg := b.timeout(cpu, wall)
		if msg == "" {
			msg = describe(err, inst.mem, inst.m.rt.cfg.MemoryLimitPages)
		}
		if fatal != "" {
			// What a Go guest's runtime printed as it died.
			msg += " (" + fatal + ")"
		}
		return nil, errors.New(msg)
	}
	return res, nil
}

// load lays the batch out in a buffer of the instance and returns the
// addresses of the records and of the verdicts. size is the batch's
// abi.LayoutSize, which cut computed.
func (inst *instance) load(ctx context.Context, th *osThread, timeout time.Duration, nfields int, batch [][]abi.Value, size int) (in, out uint32, err error) {
	// The buffer of the last unet_alloc stays valid until the next one
	// (ABI.md): a batch that fits needs no call.
	if in = inst.buf; in == 0 || uint32(size) > inst.bufSize {
		res, err := inst.call(ctx, th, inst.allocFn, timeout, uint64(size))
		if err != nil {
			return 0, 0, fmt.Errorf("%s(%d): %w", abi.ExportAlloc, size, err)
		}
		in = api.DecodeU32(res[0])
		if in == 0 {
			return 0, 0, fmt.Errorf("%s(%d) returned 0: out of memory (limit %d pages)", abi.ExportAlloc, size, inst.m.rt.cfg.MemoryLimitPages)
		}
		inst.buf, inst.bufSize = in, uint32(size)
	}
	// A view of the memory, valid until the next call (which may grow it).
	buf, ok := inst.mem.Read(in, uint32(size))
	if !ok {
		return 0, 0, fmt.Errorf("%s(%d) returned %#x, outside memory (%d bytes)", abi.ExportAlloc, size, in, inst.mem.Size())
	}
	o := abi.Encode(buf, in, nfields, batch)
	return in, in + uint32(o), nil
}

// unwritten marks the verdict bytes before a call: a module that writes
// none gets garbage verdicts, not those of the previous rule.
const unwritten = 0xff

// eval calls unet_eval for one rule and copies the verdicts to dst; first
// is the index of the batch's first record in the Eval, for messages.
func (inst *instance) eval(ctx context.Context, th *osThread, timeout time.Duration, rule int, in, out uint32, first int, dst []abi.Verdict) error {
	n := uint32(len(dst))
	verdicts, ok := inst.mem.Read(out, n)
	if !ok {
		return fmt.Errorf("verdicts at %#x+%d outside memory", out, n) // cannot happen: memory does not shrink
	}
	for i := range verdicts {
		verdicts[i] = unwritten
	}
	res, err := inst.call(ctx, th, inst.evalFn, timeout, uint64(rule), uint64(in), uint64(n), uint64(out))
	if err != nil {
		return err
	}
	if code := api.DecodeI32(res[0]); code != 0 {
		return fmt.Errorf("returned error code %d", code)
	}
	verdicts, _ = inst.mem.Read(out, n) // memory may have moved
	for i, v := range verdicts {
		if v > byte(abi.Error) {
			return fmt.Errorf("returned garbage verdict %#02x for record %d", v, first+i)
		}
	}
	for i, v := range verdicts {
		dst[i] = abi.Verdict(v)
	}
	return nil
}

func (inst *instance) flush() (fatal string) {
	if inst.out != nil {
		return inst.out.flush()
	}
	return ""
}

// describe turns the error of a call into its cause as an operator reads
// it: "deadline of 100ms exceeded", "trapped: unreachable", …
// (Deadlines are told by budget.timeout.)
func describe(err error, mem api.Memory, limitPages uint32) string {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return "deadline exceeded"
		case sys.ExitCodeContextCanceled:
			return "canceled"
		}
		return fmt.Sprintf("exited with code %d", exit.ExitCode())
	}
	// wazero appends the wasm stack trace after the first line.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	var ht *hostTrap
	switch {
	case errors.As(err, &ht):
		msg = ht.Error()
	case strings.Contains(msg, "wasm error: "):
		// Also "start function[5] failed: wasm error: …".
		msg = strings.Replace(msg, "wasm error: ", "", 1)
	default:
		return msg // not a trap: e.g. an instantiation that fails to link
	}
	cause := "trapped: " + msg
	if mem != nil && limitPages > 0 {
		if pages := mem.Size() / 65536; pages >= limitPages-limitPages/4 {
			cause += fmt.Sprintf(" (memory at %d of %d pages: out of memory?)", pages, limitPages)
		}
	}
	return cause
}
