// Command unet-agent runs the μNet agent: it polls the nodes of its sites
// over SNMP, with the inventory read from the collector, until stopped; or,
// with --once, polls every node twice and prints their states.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/unet-project/unet/agent"
	"github.com/unet-project/unet/internal/config"
	"github.com/unet-project/unet/internal/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand(os.Getenv, os.Stdout, os.Stderr, runAgent).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "unet-agent:", err)
		os.Exit(1)
	}
}

// mode is how the command runs, besides the agent's configuration.
type mode struct {
	once   bool
	output string // json or table (after resolving auto)
}

// runAgent builds the agent and runs it until ctx ends, or once.
func runAgent(ctx context.Context, cfg agent.Config, m mode, stdout, stderr io.Writer) error {
	log, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := agent.New(cfg, agent.Dependencies{Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	if !m.once {
		return a.Run(ctx)
	}
	states, err := a.Once(ctx)
	if err != nil {
		return err
	}
	if m.output == "table" {
		return writeTable(stdout, states)
	}
	return writeJSON(stdout, states)
}

// runFunc is runAgent outside tests.
type runFunc func(ctx context.Context, cfg agent.Config, m mode, stdout, stderr io.Writer) error

// newCommand builds the command: getenv is os.Getenv and run is runAgent
// outside tests.
func newCommand(getenv func(string) string, stdout, stderr io.Writer, run runFunc) *cobra.Command {
	var (
		configFile string
		m          mode
	)
	flagCfg := agent.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "unet-agent --collector URL --site SITE [--once [-o json|table]]",
		Short: "The μNet agent: polls the nodes of its sites over SNMP",
		Long: `unet-agent reads its inventory (the live and implementing nodes of its sites,
with their SNMP profiles) from the collector, polls every node over SNMP on the
interval of its profile, and derives interface rates, status changes, reboots,
reachability and LLDP neighbours. Events are logged at info level, every poll
at debug level. The inventory is followed as it changes (re-read every --inventory-refresh at most while the collector is away) and kept
in --data-dir (inventory.json, mode 0600: it holds SNMP secrets), so that the
agent starts and polls while the collector is unreachable. /metrics, /healthz
and /readyz are served on --listen (empty: not served). SIGINT or SIGTERM stops
it cleanly.

Every poll's device sample, interface samples and events are streamed to the
collector (POST /api/v1/ingest) in batches that are first written to
--data-dir/spool and kept there until the collector acknowledges them: nothing
is lost while the collector is away, within the spool's caps (stream.spool
max-bytes and max-age; past them the oldest batches are dropped, loudly).
Batches the collector refuses are set aside in --data-dir/spool/dead.

With --once it polls every node twice, --once-wait apart (rates need two
polls; a node that does not answer the first is not polled again), prints the
states and exits: -o json (an array of device states, by node name) or
-o table. The default is table on a terminal, json otherwise. The exit status
is 0 whenever the polls ran, whatever the devices answered.

Configuration, from lowest to highest precedence: defaults, the YAML file
given with --config, UNET_* environment variables, flags. Environment
variables:
  ` + strings.Join(config.EnvNames(&agent.Config{}), "\n  "),
		Example: `  unet-agent --collector http://127.0.0.1:8080 --site par1 --data-dir /var/lib/unet-agent
  unet-agent --collector http://127.0.0.1:8080 --site par1 --data-dir /tmp/agent --once -o json`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, configFile, &flagCfg, getenv)
			if err != nil {
				return err
			}
			if m.output, err = resolveOutput(cmd, m.once, m.output, stdout); err != nil {
				return err
			}
			return run(cmd.Context(), cfg, m, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML configuration file (env UNET_CONFIG)")
	f.StringVar(&flagCfg.Collector, "collector", "", "collector URL, e.g. http://127.0.0.1:8080")
	f.StringSliceVar(&flagCfg.Sites, "site", nil, "site whose nodes to poll (repeat, or separate with commas, for several)")
	f.StringVar(&flagCfg.DataDir, "data-dir", flagCfg.DataDir, "directory of the cached inventory and of the spool of batches to send")
	f.StringVar(&flagCfg.Name, "name", "", "name of this agent (default: the host name)")
	f.StringVar(&flagCfg.Listen, "listen", flagCfg.Listen, "address of /metrics, /healthz and /readyz (empty: none)")
	f.IntVar(&flagCfg.Poller.Workers, "workers", flagCfg.Poller.Workers, "polls in flight at most")
	f.StringVar(&flagCfg.Gossip, "gossip", "", "host:port where this agent gossips with the other agents of its sites, which share the nodes (empty: poll every node alone)")
	f.StringSliceVar(&flagCfg.Cluster.Join, "join", nil, "agents to join (host:port or DNS names, comma-separated); retried until one answers")
	f.StringVar(&flagCfg.Poller.SourceAddress, "source-address", "", "local IP address polls are sent from (default: the kernel's choice)")
	f.DurationVar(&flagCfg.InventoryRefresh, "inventory-refresh", flagCfg.InventoryRefresh, "longest wait between two reads of the inventory while the collector is away")
	f.DurationVar(&flagCfg.OnceWait, "once-wait", flagCfg.OnceWait, "with --once, the pause between the two polls")
	f.StringVar(&flagCfg.Log.Level, "log-level", flagCfg.Log.Level, "debug, info, warn or error")
	f.StringVar(&flagCfg.Log.Format, "log-format", flagCfg.Log.Format, "json, text, or auto (text on a terminal)")
	f.BoolVar(&m.once, "once", false, "poll every node twice, print the states and exit")
	f.StringVarP(&m.output, "output", "o", "auto", "with --once: json, table, or auto (table on a terminal, json otherwise)")
	return cmd
}

// resolveConfig layers defaults, the file, the environment and the flags.
func resolveConfig(cmd *cobra.Command, configFile string, flags *agent.Config, getenv func(string) string) (agent.Config, error) {
	cfg := agent.DefaultConfig()
	setFlags := func() { applyFlags(cmd, &cfg, flags) }
	if err := config.Resolve(configFile, &cfg, getenv, setFlags); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

// applyFlags copies the flags the user set over cfg.
func applyFlags(cmd *cobra.Command, cfg, flags *agent.Config) {
	config.ApplyChanged(cmd.Flags(), map[string]func(){
		"collector":         func() { cfg.Collector = flags.Collector },
		"site":              func() { cfg.Sites = flags.Sites },
		"data-dir":          func() { cfg.DataDir = flags.DataDir },
		"name":              func() { cfg.Name = flags.Name },
		"listen":            func() { cfg.Listen = flags.Listen },
		"workers":           func() { cfg.Poller.Workers = flags.Poller.Workers },
		"gossip":            func() { cfg.Gossip = flags.Gossip },
		"join":              func() { cfg.Cluster.Join = flags.Cluster.Join },
		"source-address":    func() { cfg.Poller.SourceAddress = flags.Poller.SourceAddress },
		"inventory-refresh": func() { cfg.InventoryRefresh = flags.InventoryRefresh },
		"once-wait":         func() { cfg.OnceWait = flags.OnceWait },
		"log-level":         func() { cfg.Log.Level = flags.Log.Level },
		"log-format":        func() { cfg.Log.Format = flags.Log.Format },
	})
}

// resolveOutput checks -o and resolves auto: a table for a person at a
// terminal, JSON for a pipe or a file.
func resolveOutput(cmd *cobra.Command, once bool, output string, stdout io.Writer) (string, error) {
	if cmd.Flags().Changed("output") && !once {
		return "", errors.New("-o/--output goes with --once: the continuous agent prints nothing")
	}
	switch output {
	case "json", "table":
		return output, nil
	case "auto", "":
		if isTerminal(stdout) {
			return "table", nil
		}
		return "json", nil
	}
	return "", fmt.Errorf("-o %q: want json, table or auto", output)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
