package sandbox

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// shared is what the tests of this package build once: the Go guests of
// policies-wasm (a cold build takes seconds) and the directory of the
// compilation cache they share (a Go guest compiles in ~1 s, ~25 ms from
// the cache).
var shared struct {
	cacheDir string

	mu     sync.Mutex
	guests map[string][]byte
	errs   map[string]error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "unet-sandbox-test-")
	if err != nil {
		panic(err)
	}
	shared.cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goGuest builds policies-wasm/NAME for wasip1 (once per test binary) and
// returns its bytes, so that the tests need no `make wasm` first.
func goGuest(t testing.TB, name string) []byte {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if b, ok := shared.guests[name]; ok {
		return b
	}
	if err, ok := shared.errs[name]; ok {
		t.Fatal(err)
	}
	if shared.guests == nil {
		shared.guests, shared.errs = map[string][]byte{}, map[string]error{}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(shared.cacheDir, name+".wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", out,
		"github.com/unet-project/unet/policies-wasm/"+name)
	// GOFLAGS may hold what wasip1 does not support (-race).
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		shared.errs[name] = err
		t.Fatalf("building the %s guest: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		shared.errs[name] = err
		t.Fatal(err)
	}
	shared.guests[name] = b
	return b
}

// testLogger writes through the test's output.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newRuntime starts a runtime with the test defaults, changed by mod, and
// closes it when the test ends.
func newRuntime(t testing.TB, mod func(*Config)) *Runtime {
	t.Helper()
	cfg := DefaultConfig()
	cfg.CacheDir = shared.cacheDir
	if mod != nil {
		mod(&cfg)
	}
	rt, err := New(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return rt
}

// load loads wasm or fails the test.
func load(t testing.TB, rt *Runtime, wasm []byte) *Module {
	t.Helper()
	m, err := rt.Load(context.Background(), wasm)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}
