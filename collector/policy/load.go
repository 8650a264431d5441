package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
	"github.com/unet-project/unet/collector/policy/sandbox"
)

// PolicyFile is one file of the policy directory as the engine loaded it
// (GET /api/v1/policies).
type PolicyFile struct {
	// File is the path relative to the policy directory.
	File string `json:"file"`
	// Kind is "dsl" (*.unet) or "wasm".
	Kind string `json:"kind"`
	// Hash is the SHA-256 of the active module.
	Hash  string     `json:"hash,omitempty"`
	Rules []RuleInfo `json:"rules"`
	// Error says why the file's current content did not load;
	// Diagnostics has one FILE:LINE:COL: message line per error of a
	// *.unet file.
	Error       string   `json:"error,omitempty"`
	Diagnostics []string `json:"diagnostics,omitempty"`
	// Active says the file's rules are evaluated: its current content, or
	// the last version that loaded (Stale) when the current one is broken.
	Active   bool      `json:"active"`
	Stale    bool      `json:"stale,omitempty"`
	LoadedAt time.Time `json:"loaded_at,omitzero"`
}

// RuleInfo describes one rule of a module.
type RuleInfo struct {
	Name     string        `json:"name"`
	Line     int           `json:"line,omitempty"`
	Action   abi.Action    `json:"action"`
	Target   string        `json:"target,omitempty"`
	Expected *abi.Expected `json:"expected,omitempty"`
	Template string        `json:"template,omitempty"`
}

// loaded is a policy file and its module.
type loaded struct {
	info    PolicyFile
	srcHash string          // of the file's current bytes
	module  *sandbox.Module // nil when no version ever loaded
	wasm    []byte          // module's bytes
	rules   []*ruleInfo     // of module, when set
}

// fileSig is what the poll compares: a change of any re-reads the directory.
type fileSig struct {
	size  int64
	mtime time.Time
}

// scanDir lists the policy files under dir (hidden directories, such as a
// git checkout's .git, skipped), by path relative to dir.
func scanDir(dir string) (map[string]fileSig, error) {
	out := map[string]fileSig{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil // a file vanishing under the walk is the next scan's business
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !IsPolicyFile(d.Name()) || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil
		}
		out[filepath.ToSlash(rel)] = fileSig{size: fi.Size(), mtime: fi.ModTime()}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy directory %s: %w", dir, err)
	}
	return out, nil
}

func manifestRules(m abi.Manifest) []RuleInfo {
	out := make([]RuleInfo, len(m.Rules))
	for i, r := range m.Rules {
		out[i] = RuleInfo{Name: r.Name, Line: r.Line, Action: r.Action, Target: r.Target, Expected: r.Expected, Template: r.Template}
	}
	return out
}

// loadDir reads the policy directory and returns the new set of files,
// reusing the entries of prev whose bytes did not change. The modules of
// prev that the new set no longer uses are returned to be closed (once
// no evaluation uses them). It fails only when the directory cannot be
// read; a bad file is an entry with its error.
func (e *Engine) loadDir(ctx context.Context, prev map[string]*loaded) (next map[string]*loaded, unused []*sandbox.Module, err error) {
	sigs, err := scanDir(e.cfg.Dir)
	if err != nil {
		return nil, nil, err
	}
	next = map[string]*loaded{}
	// Rule names must be unique over the directory: results are keyed by
	// (node, rule). Files are taken in name order, and a file that reuses
	// a name taken by an earlier one is refused.
	owner := map[string]string{}
	for _, rel := range slices.Sorted(maps.Keys(sigs)) {
		src, rerr := os.ReadFile(filepath.Join(e.cfg.Dir, filepath.FromSlash(rel)))
		if rerr != nil {
			if errors.Is(rerr, fs.ErrNotExist) {
				continue // removed since the scan
			}
		}
		sum := sha256.Sum256(src)
		srcHash := hex.EncodeToString(sum[:])
		old := prev[rel]
		var l *loaded
		if old != nil && old.srcHash == srcHash && rerr == nil {
			l = &loaded{info: old.info, srcHash: srcHash, wasm: old.wasm}
			if old.module != nil {
				// Every entry owns one Load of its module: this one is a
				// lookup in the sandbox's cache, keyed by the bytes' hash.
				if m, err := e.rt.Load(ctx, old.wasm); err == nil {
					l.module = m
				}
			}
		} else {
			l = e.loadFile(ctx, rel, src, rerr, old)
			l.srcHash = srcHash
		}
		if l.module != nil {
			if dup := dupRule(l.module.Manifest(), owner); dup != "" {
				l.module.Close(ctx)
				l.module = nil
				l.info.Active, l.info.Stale, l.info.Rules = false, false, nil
				l.info.Error = fmt.Sprintf("rule name %q is already used by %s: rule names must be unique over the policy directory", dup, owner[dup])
				l.info.Diagnostics = nil
			} else {
				for _, r := range l.module.Manifest().Rules {
					owner[r.Name] = rel
				}
			}
		}
		if l.module != nil {
			l.rules = ruleInfos(l.module.Manifest(), rel)
		}
		next[rel] = l
	}
	for _, l := range prev {
		if l.module != nil {
			unused = append(unused, l.module) // each entry's own Load
		}
	}
	return next, unused, nil
}

// loadFile compiles and loads one file. When it fails, the previous
// version (old) stays active if it had loaded, marked stale.
func (e *Engine) loadFile(ctx context.Context, rel string, src []byte, readErr error, old *loaded) *loaded {
	kind := "dsl"
	if strings.EqualFold(filepath.Ext(rel), ".wasm") {
		kind = "wasm"
	}
	l := &loaded{info: PolicyFile{File: rel, Kind: kind, Rules: []RuleInfo{}}}
	fail := func(err error) *loaded {
		e.metrics.loadFailures.Inc()
		l.info.Error = err.Error()
		var diags lang.Diagnostics
		if errors.As(err, &diags) {
			l.info.Error = fmt.Sprintf("%d error(s) in %s", len(diags), rel)
			for _, d := range diags {
				l.info.Diagnostics = append(l.info.Diagnostics, d.String())
			}
		}
		e.log.Error("policy file not loaded", "file", rel, "error", err)
		if old != nil && old.module != nil {
			if m, err := e.rt.Load(ctx, old.wasm); err == nil {
				l.module, l.wasm = m, old.wasm
				l.info.Active, l.info.Stale = true, true
				l.info.Hash, l.info.Rules, l.info.LoadedAt = old.info.Hash, old.info.Rules, old.info.LoadedAt
				e.log.Warn("keeping the last version of the policy file that loaded", "file", rel, "loaded_at", old.info.LoadedAt)
			}
		}
		return l
	}
	if readErr != nil {
		return fail(readErr)
	}
	wasm, err := CompileFile(rel, src)
	if err != nil {
		return fail(err)
	}
	m, err := e.rt.Load(ctx, wasm)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", rel, err))
	}
	l.module, l.wasm = m, wasm
	l.info.Active, l.info.Hash, l.info.LoadedAt = true, m.Hash(), e.now()
	l.info.Rules = manifestRules(m.Manifest())
	e.log.Info("policy file loaded", "file", rel, "kind", kind, "rules", len(l.info.Rules))
	return l
}

// dupRule returns the first rule name of m already in owner.
func dupRule(m abi.Manifest, owner map[string]string) string {
	seen := map[string]bool{}
	for _, r := range m.Rules {
		if _, ok := owner[r.Name]; ok || seen[r.Name] {
			return r.Name
		}
		seen[r.Name] = true
	}
	return ""
}
