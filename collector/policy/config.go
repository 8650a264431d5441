package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/unet-project/unet/collector/policy/sandbox"
)

// Config of the policy engine.
type Config struct {
	// Dir holds the policy files: *.unet (the DSL, compiled to WASM at
	// load) and *.wasm (modules written by hand, loaded as they are).
	// Empty disables the engine.
	Dir string `yaml:"dir"`
	// PollInterval is how often Dir's files are checked for changes (their
	// names, sizes and modification times); SIGHUP reloads at once.
	PollInterval time.Duration `yaml:"poll-interval"`
	// Debounce gathers the desired-state changes of this long into one
	// evaluation, so that an import of a thousand nodes is one evaluation
	// rather than a thousand.
	Debounce time.Duration `yaml:"debounce"`
	// EvalInterval re-evaluates every node this often (0: never), for the
	// derived.* fields, which change without a desired-state event.
	EvalInterval time.Duration `yaml:"eval-interval"`
	// ResultsPrefix is the etcd prefix of the latest verdicts; empty is
	// the desired-state prefix without its slash, plus "-compliance/"
	// ("/unet-compliance/"): beside the desired state rather than under
	// it, so that the engine's writes are not streamed back to every
	// desired-state watcher (the engine's own, the agents' inventories).
	ResultsPrefix string `yaml:"results-prefix"`
	// MaxTxnOps bounds the writes of one etcd transaction of verdicts.
	MaxTxnOps int `yaml:"max-txn-ops"`
	// Sandbox tunes the WASM runtime.
	Sandbox SandboxConfig `yaml:"sandbox"`
}

// SandboxConfig is sandbox.Config with the YAML keys of the collector's
// file.
type SandboxConfig struct {
	// MemoryLimitPages caps each instance's memory, in 64 KiB pages; a Go
	// wasip1 module needs at least 32.
	MemoryLimitPages uint32 `yaml:"memory-limit-pages"`
	// CallTimeout is the deadline of one call (one rule over one batch).
	CallTimeout time.Duration `yaml:"call-timeout"`
	// BatchSize is the largest number of records per call.
	BatchSize int `yaml:"batch-size"`
	// Parallelism is how many calls run at once; 0 is one per CPU.
	Parallelism int `yaml:"parallelism"`
	// CacheDir keeps compiled modules across restarts; the collector sets
	// it to a directory of its data dir when empty.
	CacheDir string `yaml:"cache-dir"`
}

// DefaultConfig returns the defaults: no policy directory (the engine is
// off), the sandbox's own defaults.
func DefaultConfig() Config {
	sb := sandbox.DefaultConfig()
	return Config{
		PollInterval: 3 * time.Second,
		Debounce:     500 * time.Millisecond,
		EvalInterval: 5 * time.Minute,
		MaxTxnOps:    128,
		Sandbox: SandboxConfig{
			MemoryLimitPages: sb.MemoryLimitPages,
			CallTimeout:      sb.CallTimeout,
			BatchSize:        sb.BatchSize,
			// 0, not sb.Parallelism: the default follows the machine it
			// runs on, not the one that wrote the file.
		},
	}
}

// Validate refuses settings the engine cannot work with.
func (c Config) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("policies poll-interval must be positive (got %s)", c.PollInterval))
	}
	if c.Debounce < 0 {
		errs = append(errs, fmt.Errorf("policies debounce must not be negative (got %s)", c.Debounce))
	}
	if c.EvalInterval < 0 {
		errs = append(errs, fmt.Errorf("policies eval-interval must not be negative (got %s)", c.EvalInterval))
	}
	if c.MaxTxnOps <= 0 {
		errs = append(errs, fmt.Errorf("policies max-txn-ops must be positive (got %d)", c.MaxTxnOps))
	}
	if c.ResultsPrefix != "" && c.ResultsPrefix[len(c.ResultsPrefix)-1] != '/' {
		errs = append(errs, fmt.Errorf("policies results-prefix %q must end with '/'", c.ResultsPrefix))
	}
	s := c.Sandbox
	if s.CallTimeout < 0 || s.BatchSize < 0 || s.Parallelism < 0 {
		errs = append(errs, errors.New("policies sandbox: call-timeout, batch-size and parallelism must not be negative"))
	}
	if s.MemoryLimitPages != 0 && s.MemoryLimitPages < 2 {
		errs = append(errs, fmt.Errorf("policies sandbox memory-limit-pages %d is too small for any module", s.MemoryLimitPages))
	}
	return errors.Join(errs...)
}

// sandboxConfig is the sandbox's configuration.
func (s SandboxConfig) sandboxConfig() sandbox.Config {
	return sandbox.Config{
		MemoryLimitPages: s.MemoryLimitPages,
		CallTimeout:      s.CallTimeout,
		BatchSize:        s.BatchSize,
		Parallelism:      s.Parallelism,
		CacheDir:         s.CacheDir,
	}
}
