package poller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// classify turns a poll error into a reason and a message that says what
// to check.
func classify(err error, t *Target, engineFound, startedWithEngine bool) (string, error) {
	var pe *protocolError
	var se *snmpError
	var me *malformedError
	var ne net.Error
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled", errors.New("canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline", errors.New("the poll did not finish within its interval (slow device? raise the interval or the timeout)")
	case errors.Is(err, errTimeout):
		return "timeout", timeoutError(t, engineFound, startedWithEngine)
	case errors.As(err, &me):
		return "malformed", me
	case errors.As(err, &pe):
		return "protocol", pe
	case errors.As(err, &se):
		return "snmp_error", se
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return "auth", errors.New("authentication failed: wrong SNMPv3 auth key or protocol")
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return "auth", fmt.Errorf("authentication failed: the device knows no SNMPv3 user %q", t.Profile.User)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return "auth", errors.New("authentication failed: the device refuses this SNMPv3 security level for the user")
	case errors.Is(err, gosnmp.ErrDecryption):
		return "auth", errors.New("decryption failed: wrong SNMPv3 privacy key or protocol")
	case strings.Contains(msg, "connection refused"):
		return "refused", fmt.Errorf("connection refused: nothing listens on UDP port %d of %s", t.settings().port, t.Address)
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "i/o timeout"):
		return "timeout", timeoutError(t, engineFound, startedWithEngine)
	case strings.Contains(msg, "not authentic"):
		// The device's Report (wrong digest, unknown user) is not
		// authenticated, so gosnmp cannot say which it was.
		return "auth", fmt.Errorf("authentication failed: the device refused SNMPv3 user %q (wrong user, auth key or auth protocol?)", t.Profile.User)
	case strings.Contains(msg, "recover:"):
		// gosnmp recovered from a panic while decoding.
		return "malformed", errors.New("malformed response: the decoder failed on it")
	case errors.As(err, &ne) || strings.HasPrefix(msg, "marshal"):
		// A socket error, or our own request that did not encode.
		return "error", errors.New(firstLine(msg))
	}
	// Whatever else gosnmp returns is about the response it could not
	// read (sanity checks, lengths, types).
	return "malformed", fmt.Errorf("malformed response: %s", firstLine(msg))
}

// timeoutError words a timeout. With v2c a wrong community and a dead
// device both look like silence. With v3, an engine that answered the
// discovery of this poll but not the request means the keys are wrong
// (gosnmp reports a wrong privacy key as a plain timeout).
func timeoutError(t *Target, engineFound, startedWithEngine bool) error {
	if t.Profile.Version != model.SNMPv3 {
		return errors.New("timeout (device down or wrong community?)")
	}
	switch {
	case !startedWithEngine && engineFound:
		return errors.New("timeout (wrong v3 keys?)")
	case startedWithEngine:
		return errors.New("timeout (device down, or wrong v3 keys?)")
	}
	return errors.New("timeout (device down?)")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// engineFound tells whether a v3 session learned the device's engine
// (nil: a v2c poll).
func engineFound(g *gosnmp.GoSNMP) bool {
	if g == nil {
		return false
	}
	usp, _ := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	return usp != nil && usp.AuthoritativeEngineID != ""
}
