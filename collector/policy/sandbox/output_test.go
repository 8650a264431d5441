package sandbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestGuestOutput checks that what a Go-like guest (one exporting
// _initialize, hence allowed WASI) writes to stdout reaches the log, cut at
// 4 KiB per call.
func TestGuestOutput(t *testing.T) {
	var logs syncBuffer
	cfg := DefaultConfig()
	rt, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })

	const (
		iovAddr = 2048
		nAddr   = 2096
		msgAddr = 2112
	)
	msg := strings.Repeat("x", 99) + "\n"
	iov := []byte{msgAddr & 0xff, msgAddr >> 8, 0, 0, byte(len(msg)), 0, 0, 0}
	// fd_write(1, iov, 1, n) 100 times: 10,000 bytes.
	print100 := cat(
		i32Const(0), localSet(4),
		ops(opBlock, blockEmpty, opLoop, blockEmpty),
		localGet(4), i32Const(100), ops(opI32GeU, opBrIf, 1),
		i32Const(1), i32Const(iovAddr), i32Const(1), i32Const(nAddr), call(1), ops(opDrop),
		localGet(4), i32Const(1), ops(opI32Add), localSet(4),
		ops(opBr, 0, opEnd, opEnd))
	m := load(t, rt, policy{
		rules:      []string{"chatty"},
		bodies:     map[int][]byte{0: print100},
		imports:    []wasmImport{{"wasi_snapshot_preview1", "fd_write", []byte{i32, i32, i32, i32}, []byte{i32}}},
		initialize: []byte{},
		data:       []wasmData{{iovAddr, iov}, {msgAddr, []byte(msg)}},
	}.wasm())
	res, err := m.Eval(context.Background(), names("a"))
	if err != nil || res[0].Verdicts[0] != abi.Compliant {
		t.Fatalf("Eval: %v %+v", err, res)
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"policy module output"`) || !strings.Contains(out, `"dropped_bytes":5904`) {
		t.Errorf("log: %s", out)
	}
	if n := strings.Count(out, "x"); n < 4000 || n > 4200 {
		t.Errorf("%d bytes of output logged, want 4 KiB", n)
	}
}
