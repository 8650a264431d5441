package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// deleteFlags are the flags of every delete command.
type deleteFlags struct {
	yes     bool
	cascade bool
}

func (d *deleteFlags) register(cmd *cobra.Command, cascadeHelp string) {
	cmd.Flags().BoolVarP(&d.yes, "yes", "y", false, "do not ask for confirmation")
	if cascadeHelp != "" {
		cmd.Flags().BoolVar(&d.cascade, "cascade", false, cascadeHelp)
	}
}

// confirmDelete asks "Delete node r1? [y/N]" unless --yes. Without a
// terminal to ask on, it refuses rather than guess: a script must say --yes.
func (a *app) confirmDelete(what string, d deleteFlags) error {
	if d.yes {
		return nil
	}
	if !a.inTerminal {
		return fmt.Errorf("refusing to delete %s without confirmation: stdin is not a terminal (pass --yes)", what)
	}
	question := "Delete " + what + "?"
	if d.cascade {
		question = "Delete " + what + " and everything that refers to it?"
	}
	fmt.Fprintf(a.err, "%s [y/N] ", question)
	answer, _ := bufio.NewReader(a.in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	default:
		return fmt.Errorf("%s not deleted", what)
	}
}
