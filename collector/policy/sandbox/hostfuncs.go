package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero/api"
)

// callStateKey carries, in the context of a unet_eval call, what the host
// functions need of the module being evaluated. The host module is shared
// by every module of the runtime, so it cannot hold it.
type callStateKey struct{}

type callState struct {
	regexes []*regexp.Regexp
}

// hostTrap is what a host function panics with to trap the guest: wazero
// recovers the panic and fails the call with it.
type hostTrap struct{ msg string }

func (e *hostTrap) Error() string { return e.msg }

func trap(format string, args ...any) { panic(&hostTrap{fmt.Sprintf(format, args...)}) }

// regexMatch is unet.regex_match(regex, ptr, len) -> i32.
func regexMatch(ctx context.Context, mod api.Module, stack []uint64) {
	id, ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		trap("regex_match called outside unet_eval")
	}
	if id >= uint32(len(st.regexes)) {
		trap("regex_match: regex %d unknown, the manifest has %d", id, len(st.regexes))
	}
	s, ok := mod.Memory().Read(ptr, n)
	if !ok {
		trap("regex_match: string at %#x+%d outside memory (%d bytes)", ptr, n, mod.Memory().Size())
	}
	stack[0] = 0
	if st.regexes[id].Match(s) {
		stack[0] = 1
	}
}

// outputLimit is how much of a Go guest's stdout and stderr is logged per
// call; the rest is dropped.
const outputLimit = 4 << 10

// outputWriter collects what a Go guest prints during one call and logs it
// after the call, cut at outputLimit.
type outputWriter struct {
	log    *slog.Logger
	module string

	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

func newOutputWriter(log *slog.Logger, module string) *outputWriter {
	return &outputWriter{log: log, module: module}
}

func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := outputLimit - w.buf.Len()
	if room < len(p) {
		w.dropped += len(p) - max(room, 0)
		w.buf.Write(p[:max(room, 0)])
	} else {
		w.buf.Write(p)
	}
	return len(p), nil
}

// flush logs the output of the call and returns its first line that tells
// why a Go runtime died ("fatal error: …", "panic: …"), or "".
func (w *outputWriter) flush() (fatal string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 {
		return ""
	}
	out := w.buf.String()
	w.log.Info("policy module output", "module", w.module,
		"output", out, "dropped_bytes", w.dropped)
	w.buf.Reset()
	w.dropped = 0
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
