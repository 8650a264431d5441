// Command unet-collector runs the μNet collector: desired state in etcd
// (embedded by default), the REST API, and later ingest, history and
// policies.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/collector"
	"github.com/unet-project/unet/internal/config"
	"github.com/unet-project/unet/internal/logging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand(os.Getenv, runCollector).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "unet-collector:", err)
		os.Exit(1)
	}
}

// runCollector starts the collector and serves until ctx is cancelled.
func runCollector(ctx context.Context, cfg collector.Config) error {
	log, err := logging.New(cfg.Log, os.Stderr)
	if err != nil {
		return err
	}
	c, err := collector.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// newCommand builds the command: getenv is os.Getenv and run is
// runCollector outside tests.
func newCommand(getenv func(string) string, run func(context.Context, collector.Config) error) *cobra.Command {
	var configFile string
	flagCfg := collector.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "unet-collector",
		Short: "The μNet collector: desired state, REST API, history and policies",
		Long: `unet-collector keeps the desired state of the network in etcd (an embedded
single-member etcd in --data-dir unless --etcd-endpoints names a cluster) and
serves the REST API that unetctl and dashboards use. With --clickhouse it
also takes the agents' batches (POST /api/v1/ingest) into ClickHouse and
serves history and the latest observed state; when ClickHouse is down at
start it keeps trying in the background and answers those routes 503
meanwhile.

Configuration, from lowest to highest precedence: defaults, the YAML file
given with --config (see deploy/collector.yaml), UNET_* environment variables,
flags. Environment variables:
  ` + strings.Join(config.EnvNames(&collector.Config{}), "\n  "),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, configFile, &flagCfg, getenv)
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML configuration file (env UNET_CONFIG)")
	f.StringVar(&flagCfg.DataDir, "data-dir", flagCfg.DataDir, "directory for the embedded etcd and local state")
	f.StringVar(&flagCfg.Listen, "listen", flagCfg.Listen, "address of the HTTP API")
	f.StringSliceVar(&flagCfg.Etcd.Endpoints, "etcd-endpoints", nil, "external etcd cluster endpoints (comma-separated); embedded etcd when empty")
	f.StringVar(&flagCfg.Etcd.CACert, "etcd-ca-cert", "", "CA certificate to verify the etcd cluster")
	f.StringVar(&flagCfg.Etcd.Cert, "etcd-cert", "", "client certificate for the etcd cluster")
	f.StringVar(&flagCfg.Etcd.Key, "etcd-key", "", "client key for the etcd cluster")
	f.StringVar(&flagCfg.Etcd.Username, "etcd-username", "", "etcd user (the password only from UNET_ETCD_PASSWORD or the file)")
	f.StringVar(&flagCfg.Etcd.EmbeddedClientURL, "etcd-client-url", flagCfg.Etcd.EmbeddedClientURL, "where the embedded etcd listens for clients (default: a free loopback port)")
	f.StringVar(&flagCfg.Etcd.EmbeddedPeerURL, "etcd-peer-url", flagCfg.Etcd.EmbeddedPeerURL, "where the embedded etcd listens for peers (default: a free loopback port)")
	f.StringVar(&flagCfg.Store.Prefix, "etcd-prefix", flagCfg.Store.Prefix, "key prefix of μNet's objects in etcd")
	f.StringVar(&flagCfg.Log.Level, "log-level", flagCfg.Log.Level, "debug, info, warn or error")
	f.StringVar(&flagCfg.Log.Format, "log-format", flagCfg.Log.Format, "json, text, or auto (text on a terminal)")
	f.StringVar(&flagCfg.ClickHouse.Address, "clickhouse", flagCfg.ClickHouse.Address, "ClickHouse native-protocol address (host:9000) for history and ingest; none: the collector runs without them (env UNET_CLICKHOUSE_ADDRESS)")
	f.StringVar(&flagCfg.ClickHouse.Database, "clickhouse-database", flagCfg.ClickHouse.Database, "ClickHouse database, created when missing")
	f.StringVar(&flagCfg.Policies.Dir, "policies", flagCfg.Policies.Dir, "directory of policy files (*.unet, *.wasm) to evaluate; reloaded on change and on SIGHUP (env UNET_POLICIES_DIR)")
	return cmd
}

// resolveConfig layers defaults, the file, the environment and the flags.
func resolveConfig(cmd *cobra.Command, configFile string, flags *collector.Config, getenv func(string) string) (collector.Config, error) {
	cfg := collector.DefaultConfig()
	setFlags := func() { applyFlags(cmd, &cfg, flags) }
	if err := config.Resolve(configFile, &cfg, getenv, setFlags); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// applyFlags copies the flags the user set over cfg.
func applyFlags(cmd *cobra.Command, cfg, flags *collector.Config) {
	config.ApplyChanged(cmd.Flags(), map[string]func(){
		"data-dir":            func() { cfg.DataDir = flags.DataDir },
		"listen":              func() { cfg.Listen = flags.Listen },
		"etcd-endpoints":      func() { cfg.Etcd.Endpoints = flags.Etcd.Endpoints },
		"etcd-ca-cert":        func() { cfg.Etcd.CACert = flags.Etcd.CACert },
		"etcd-cert":           func() { cfg.Etcd.Cert = flags.Etcd.Cert },
		"etcd-key":            func() { cfg.Etcd.Key = flags.Etcd.Key },
		"etcd-username":       func() { cfg.Etcd.Username = flags.Etcd.Username },
		"etcd-client-url":     func() { cfg.Etcd.EmbeddedClientURL = flags.Etcd.EmbeddedClientURL },
		"etcd-peer-url":       func() { cfg.Etcd.EmbeddedPeerURL = flags.Etcd.EmbeddedPeerURL },
		"etcd-prefix":         func() { cfg.Store.Prefix = flags.Store.Prefix },
		"log-level":           func() { cfg.Log.Level = flags.Log.Level },
		"log-format":          func() { cfg.Log.Format = flags.Log.Format },
		"policies":            func() { cfg.Policies.Dir = flags.Policies.Dir },
		"clickhouse":          func() { cfg.ClickHouse.Address = flags.ClickHouse.Address },
		"clickhouse-database": func() { cfg.ClickHouse.Database = flags.ClickHouse.Database },
	})
}
