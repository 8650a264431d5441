// Command unetctl is the operators' CLI of μNet: it manages the desired
// state (locations, SNMP profiles, nodes, links) through the collector's
// HTTP API, and imports and exports it in bulk.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{
		in:          os.Stdin,
		out:         os.Stdout,
		err:         os.Stderr,
		inTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		errTerminal: term.IsTerminal(int(os.Stderr.Fd())),
	}, os.Getenv)
	stop()
	os.Exit(code)
}
