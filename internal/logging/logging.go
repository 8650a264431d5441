// Package logging builds the slog logger of a daemon: JSON for machines,
// text when a person watches the terminal.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Config of the logger.
type Config struct {
	// Level: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format: json, text, or auto (text on a terminal, JSON otherwise).
	Format string `yaml:"format"`
}

// DefaultConfig logs at info level in the auto format.
func DefaultConfig() Config { return Config{Level: "info", Format: "auto"} }

// New returns a logger writing to w (os.Stderr in the daemons).
func New(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", cfg.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.Format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want json, text or auto", cfg.Format)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
