// Package sandbox runs policy modules (policies-wasm/ABI.md) in wazero:
// with no filesystem, network or clock, a memory cap and a deadline per
// call, so that a broken or hostile module costs at most its own verdicts.
// The policy engine loads a module once (Load), then evaluates its rules
// over batches of node records (Module.Eval).
package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/unet-project/unet/collector/policy/abi"
)

// Config configures the sandbox.
type Config struct {
	// MemoryLimitPages caps every instance's linear memory, in 64 KiB
	// pages. A Go wasip1 module needs at least 32.
	MemoryLimitPages uint32
	// CallTimeout is the deadline of one unet_eval call (one rule over one
	// batch), in CPU time of the thread running it; the call also ends
	// after 100 times that of wall time, however little CPU it got
	// (deadline.go says why).
	CallTimeout time.Duration
	// BatchSize is the largest number of records per unet_eval call. A
	// batch is also cut at an eighth of the memory cap, so that records
	// with long strings or lists still fit in a Go guest, whose runtime,
	// heap and garbage share that memory.
	BatchSize int
	// Parallelism is how many calls of one Eval run at once, each on its
	// own instance.
	Parallelism int
	// CacheDir, when set, keeps compiled modules on disk across restarts
	// (a Go module compiles in ~1 s, ~25 ms from the cache).
	CacheDir string
}

// DefaultConfig returns the defaults: 4 MiB of memory, 100 ms per call,
// 1000 records per call, one call per CPU.
func DefaultConfig() Config {
	return Config{
		MemoryLimitPages: 64,
		CallTimeout:      100 * time.Millisecond,
		BatchSize:        1000,
		Parallelism:      runtime.GOMAXPROCS(0),
	}
}

// maxMemoryPages is wasm32's limit: 4 GiB.
const maxMemoryPages = 65536

// withDefaults fills zero values from DefaultConfig and refuses the rest of
// what cannot work.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = d.MemoryLimitPages
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = d.CallTimeout
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.Parallelism == 0 {
		c.Parallelism = d.Parallelism
	}
	switch {
	case c.MemoryLimitPages > maxMemoryPages:
		return c, fmt.Errorf("sandbox: memory limit of %d pages is above wasm32's %d", c.MemoryLimitPages, maxMemoryPages)
	case c.CallTimeout < 0:
		return c, fmt.Errorf("sandbox: negative call timeout %v", c.CallTimeout)
	case c.BatchSize < 0:
		return c, fmt.Errorf("sandbox: negative batch size %d", c.BatchSize)
	case c.Parallelism < 0:
		return c, fmt.Errorf("sandbox: negative parallelism %d", c.Parallelism)
	}
	return c, nil
}

// Runtime compiles, caches and runs policy modules. It is safe for
// concurrent use.
type Runtime struct {
	cfg   Config
	log   *slog.Logger
	wr    wazero.Runtime
	cache wazero.CompilationCache // nil without CacheDir

	mu      sync.Mutex
	modules map[string]*loading // by Module.Hash
	closed  bool
}

// loading is a module being loaded, or loaded: concurrent Loads of the same
// bytes wait for the first one instead of compiling again.
type loading struct {
	done chan struct{}
	m    *Module // nil when the load failed
	err  error
}

// New starts a runtime with the host functions of the ABI.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rcfg := wazero.NewRuntimeConfig().
		// Without it a runaway guest keeps its goroutine spinning forever,
		// even after Module.Close (FIELD-NOTES.md).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(cfg.MemoryLimitPages)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &Runtime{cfg: cfg, log: log, modules: map[string]*loading{}}
	if cfg.CacheDir != "" {
		rt.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		rcfg = rcfg.WithCompilationCache(rt.cache)
	}
	rt.wr = wazero.NewRuntimeWithConfig(ctx, rcfg)
	if err := rt.instantiateHost(ctx); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return rt, nil
}

func (rt *Runtime) instantiateHost(ctx context.Context) error {
	_, err := rt.wr.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(regexMatch),
			[]api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32},
			[]api.ValueType{api.ValueTypeI32}).
		WithParameterNames("regex", "ptr", "len").
		Export(abi.ImportRegexMatch).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("sandbox: host module %s: %w", abi.ImportModule, err)
	}
	// Go guests only: Load refuses WASI imports from other modules. The
	// module configuration of each instance (newInstance) gives it no
	// arguments, environment, files or sockets.
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt.wr); err != nil {
		return fmt.Errorf("sandbox: WASI host module: %w", err)
	}
	return nil
}

// Close closes every module and the runtime. Evaluations still running
// fail.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	rt.closed = true
	var mods []*Module
	for _, l := range rt.modules {
		select {
		case <-l.done:
			if l.m != nil {
				mods = append(mods, l.m)
			}
		default:
		}
	}
	rt.modules = map[string]*loading{}
	rt.mu.Unlock()
	for _, m := range mods {
		m.close(ctx)
	}
	err := rt.wr.Close(ctx)
	if rt.cache != nil {
		err = errors.Join(err, rt.cache.Close(ctx))
	}
	return err
}

// Load compiles a module, checks it against the ABI (imports, exports,
// version, manifest, regexes) and returns it ready to Eval. Modules are
// cached by the SHA-256 of their bytes: loading the same bytes again
// returns the same *Module at once. Each Load should be matched by a
// Module.Close once the caller no longer needs it.
func (rt *Runtime) Load(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	hash := hex.EncodeToString(sum[:])

	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, errors.New("sandbox: runtime closed")
	}
	if l, ok := rt.modules[hash]; ok {
		rt.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err != nil {
			return nil, l.err
		}
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if l.m.refs == 0 { // closed meanwhile
			return nil, errors.New("sandbox: module closed while loading it")
		}
		l.m.refs++
		return l.m, nil
	}
	l := &loading{done: make(chan struct{})}
	rt.modules[hash] = l
	rt.mu.Unlock()

	start := time.Now()
	l.m, l.err = rt.load(ctx, hash, wasm)
	rt.mu.Lock()
	if l.err != nil {
		// Not cached: the next Load tries again (the error may have been
		// the context's).
		delete(rt.modules, hash)
	} else if rt.closed {
		l.m.close(ctx)
		l.m, l.err = nil, errors.New("sandbox: runtime closed")
	}
	rt.mu.Unlock()
	close(l.done)
	if l.err != nil {
		return nil, l.err
	}
	rt.log.Info("policy module loaded", "module", shortHash(hash),
		"rules", len(l.m.manifest.Rules), "fields", len(l.m.manifest.Fields),
		"go", l.m.goGuest, "bytes", len(wasm), "duration", time.Since(start))
	return l.m, nil
}

func shortHash(h string) string { return h[:12] }
