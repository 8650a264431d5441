package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrUnavailable matches (errors.Is) every *UnavailableError.
var ErrUnavailable = errors.New("ClickHouse unavailable")

// UnavailableError says ClickHouse cannot take the operation now (down,
// unreachable, overloaded, or the writer's queue is full) and that the
// same operation may succeed later: the ingest endpoint answers 503 with
// Retry-After, and agents keep their spool and replay.
type UnavailableError struct {
	Op         string        // what failed, e.g. "insert interface_samples"
	RetryAfter time.Duration // when to try again
	Err        error         // the cause
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s: ClickHouse unavailable (retry in %s): %v", e.Op, e.RetryAfter, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// RetryAfter returns the delay an *UnavailableError in err's chain
// suggests, and false when err is not one.
func RetryAfter(err error) (time.Duration, bool) {
	var u *UnavailableError
	if errors.As(err, &u) {
		return u.RetryAfter, true
	}
	return 0, false
}

// transient says a ClickHouse exception means "not now" rather than
// "never": retrying the same statement later can succeed.
func transient(code int32) bool {
	switch code {
	case 159, // TIMEOUT_EXCEEDED
		164, // READONLY
		202, // TOO_MANY_SIMULTANEOUS_QUERIES
		203, // NO_FREE_CONNECTION
		209, // SOCKET_TIMEOUT
		210, // NETWORK_ERROR
		241, // MEMORY_LIMIT_EXCEEDED
		242, // TABLE_IS_READ_ONLY
		252, // TOO_MANY_PARTS
		319, // UNKNOWN_STATUS_OF_INSERT
		425: // SYSTEM_ERROR
		return true
	}
	return false
}

// classify wraps err: an *UnavailableError when ClickHouse could not be
// reached or said "not now", a plain error (a bug or a schema mismatch:
// retrying will not help) otherwise.
func classify(op string, err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) {
		return err
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		if transient(ex.Code) {
			return &UnavailableError{Op: op, RetryAfter: retryAfter, Err: err}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return &UnavailableError{Op: op, RetryAfter: retryAfter, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func errorKind(err error) string {
	if errors.Is(err, ErrUnavailable) {
		return "unavailable"
	}
	return "rejected"
}
