// Command unet-snmpsim serves simulated SNMP devices on loopback addresses
// (see package snmpsim) and writes the CSV that `unetctl import` takes to
// put them in the inventory.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/unet-project/unet/internal/logging"
	"github.com/unet-project/unet/shared/bundle"
	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/snmpsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newCommand(os.Getenv, os.Stdout, os.Stderr, nil).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "unet-snmpsim:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	devices     int
	base        string
	port        int
	sockets     int
	interfaces  int
	vendor      string
	seed        uint64
	community   string
	namePrefix  string
	v3User      string
	v3AuthProto string
	v3AuthKey   string
	v3PrivProto string
	v3PrivKey   string
	snmprec     string
	csv         string
	csvVersion  string
	site        string
	region      string
	maxResponse int
	dropRate    float64
	delay       time.Duration
	deadShare   float64
	flapEvery   time.Duration
	flapShare   float64
	rebootEvery time.Duration
	statsEvery  time.Duration
	log         logging.Config
}

// Secrets may come from the environment, which other users of the machine
// cannot read from the process list.
const (
	envCommunity = "UNET_SNMPSIM_COMMUNITY"
	envAuthKey   = "UNET_SNMPSIM_V3_AUTH_KEY"
	envPrivKey   = "UNET_SNMPSIM_V3_PRIV_KEY"
)

// newCommand builds the command. started, when set, is called with the
// running simulator (tests).
func newCommand(getenv func(string) string, stdout, stderr io.Writer, started func(*snmpsim.Simulator)) *cobra.Command {
	def := snmpsim.DefaultConfig()
	o := options{
		devices: 1, base: def.Base.String(), port: def.Port, sockets: def.Sockets,
		interfaces: def.Profile.Interfaces, community: def.Profile.Community, namePrefix: def.NamePrefix,
		v3AuthProto: string(model.AuthSHA), v3PrivProto: string(model.PrivAES),
		csvVersion: string(model.SNMPv2c), site: "sim-site", region: "sim-region",
		maxResponse: def.Profile.MaxResponseSize, flapShare: 0.05, statsEvery: time.Minute,
		log: logging.DefaultConfig(),
	}
	cmd := &cobra.Command{
		Use:   "unet-snmpsim",
		Short: "Serve simulated SNMP devices on 127.x.y.z addresses",
		Long: `unet-snmpsim serves --devices simulated SNMP devices (v2c, and SNMPv3 USM
authPriv with --v3-user) on consecutive loopback addresses from --base, host
bytes .0 and .255 skipped, all on one UDP port: interfaces with moving
counters, LLDP neighbours among the devices, optional flaps, reboots, drops,
delays and dead devices. With --csv it writes the inventory for
` + "`unetctl import`" + `: a region and a site, an SNMP profile and one node per device.
It runs until interrupted (SIGINT, SIGTERM).

Secrets can come from the environment instead of flags: ` + envCommunity + `,
` + envAuthKey + `, ` + envPrivKey + `.`,
		Example: `  unet-snmpsim --devices 1000 --base 127.1.0.1 --csv devices.csv
  unetctl import devices.csv`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			for flag, env := range map[string]string{"community": envCommunity, "v3-auth-key": envAuthKey, "v3-priv-key": envPrivKey} {
				if v := getenv(env); v != "" && !f.Changed(flag) {
					_ = f.Set(flag, v)
				}
			}
			return run(cmd.Context(), o, stdout, stderr, started)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.devices, "devices", o.devices, "number of devices")
	f.StringVar(&o.base, "base", o.base, "address of the first device (in 127.0.0.0/8)")
	f.IntVar(&o.port, "port", o.port, "UDP port of every device (0: a free one)")
	f.IntVar(&o.sockets, "sockets", o.sockets, "SO_REUSEPORT sockets serving the devices")
	f.IntVar(&o.interfaces, "interfaces", o.interfaces, "interfaces per device")
	f.StringVar(&o.vendor, "vendor", "", "cisco, juniper, arista or linux (default: a mix)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of every generated value")
	f.StringVar(&o.community, "community", o.community, "SNMPv2c community (env "+envCommunity+")")
	f.StringVar(&o.namePrefix, "name-prefix", o.namePrefix, "device names are PREFIX-00001, PREFIX-00002…")
	f.StringVar(&o.v3User, "v3-user", "", "SNMPv3 user (authPriv with the keys below)")
	f.StringVar(&o.v3AuthProto, "v3-auth-proto", o.v3AuthProto, "SNMPv3 authentication: md5, sha, sha224, sha256, sha384, sha512")
	f.StringVar(&o.v3AuthKey, "v3-auth-key", "", "SNMPv3 authentication pass phrase (env "+envAuthKey+")")
	f.StringVar(&o.v3PrivProto, "v3-priv-proto", o.v3PrivProto, "SNMPv3 privacy: aes (AES-128)")
	f.StringVar(&o.v3PrivKey, "v3-priv-key", "", "SNMPv3 privacy pass phrase (env "+envPrivKey+")")
	f.StringVar(&o.snmprec, "snmprec", "", "replay this .snmprec recording on every device instead of generating")
	f.StringVar(&o.csv, "csv", "", "write the inventory CSV for unetctl import to this `FILE` (- for stdout)")
	f.StringVar(&o.csvVersion, "csv-snmp-version", o.csvVersion, "SNMP profile the CSV gives the nodes: 2c, or 3 (needs --v3-user)")
	f.StringVar(&o.site, "site", o.site, "site of the nodes in the CSV (also sysLocation)")
	f.StringVar(&o.region, "region", o.region, "region holding the site in the CSV")
	f.IntVar(&o.maxResponse, "max-response-size", o.maxResponse, "largest response datagram, bytes (484-65000)")
	f.Float64Var(&o.dropRate, "drop-rate", 0, "fraction of requests every device leaves unanswered")
	f.DurationVar(&o.delay, "delay", 0, "hold every response back this long")
	f.Float64Var(&o.deadShare, "dead-fraction", 0, "fraction of devices that never answer")
	f.DurationVar(&o.flapEvery, "flap-every", 0, "interfaces flap once per this period (0: never)")
	f.Float64Var(&o.flapShare, "flap-fraction", o.flapShare, "fraction of interfaces that flap, with --flap-every")
	f.DurationVar(&o.rebootEvery, "reboot-every", 0, "every device reboots once per this period, at its own moment (0: never)")
	f.DurationVar(&o.statsEvery, "stats-every", o.statsEvery, "log traffic counters this often (0: never)")
	f.StringVar(&o.log.Level, "log-level", o.log.Level, "debug, info, warn or error")
	f.StringVar(&o.log.Format, "log-format", o.log.Format, "json, text or auto")
	return cmd
}

// run serves the devices until ctx ends.
func run(ctx context.Context, o options, stdout, stderr io.Writer, started func(*snmpsim.Simulator)) error {
	log, err := logging.New(o.log, stderr)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	sim, err := snmpsim.New(cfg, log)
	if err != nil {
		return err
	}
	if err := sim.Start(ctx); err != nil {
		return err
	}
	defer sim.Close()
	if o.csv != "" {
		if err := o.writeCSV(sim, stdout); err != nil {
			return err
		}
		if o.csv != "-" {
			log.Info("wrote the inventory", "file", o.csv, "nodes", sim.Len(), "import", "unetctl import "+o.csv)
		}
		// The inventory of 50,000 nodes takes ~100 MB while it is built,
		// eight times what serving them needs: give it back now rather
		// than when the scavenger gets to it.
		debug.FreeOSMemory()
	}
	fmt.Fprintf(stderr, "unet-snmpsim: serving %d devices from %s on UDP port %d with %d sockets\n",
		sim.Len(), cfg.Base, sim.Port(), sim.Sockets())
	if started != nil {
		started(sim)
	}
	var tick <-chan time.Time
	if o.statsEvery > 0 {
		t := time.NewTicker(o.statsEvery)
		defer t.Stop()
		tick = t.C
	}
	var last snmpsim.Stats
	for {
		select {
		case <-ctx.Done():
			st := sim.Stats()
			log.Info("stopping", "requests", st.Requests, "responses", st.Responses)
			return sim.Close()
		case <-tick:
			if st := sim.Stats(); st != last {
				log.Info("traffic", "requests", st.Requests, "responses", st.Responses, "reports", st.Reports,
					"dropped", st.Dropped, "auth_failures", st.AuthFailures, "malformed", st.Malformed, "unknown_device", st.UnknownDevice)
				last = st
			}
		}
	}
}

// config builds the simulator's configuration from the options.
func (o *options) config() (snmpsim.Config, error) {
	cfg := snmpsim.DefaultConfig()
	base, err := netip.ParseAddr(o.base)
	if err != nil {
		return cfg, fmt.Errorf("--base %q is not an IPv4 address", o.base)
	}
	cfg.Base, cfg.Devices, cfg.Port, cfg.Sockets, cfg.Seed, cfg.NamePrefix = base, o.devices, o.port, o.sockets, o.seed, o.namePrefix
	if o.devices < 1 {
		return cfg, fmt.Errorf("--devices must be at least 1")
	}
	p := &cfg.Profile
	p.Interfaces, p.Community, p.MaxResponseSize = o.interfaces, o.community, o.maxResponse
	p.Location = o.site
	p.DropRate, p.Delay = o.dropRate, o.delay
	if o.vendor != "" {
		v, err := model.ParseVendor(o.vendor)
		if err != nil {
			return cfg, fmt.Errorf("--vendor: %w", err)
		}
		p.Vendor = v
	}
	if o.flapEvery > 0 {
		p.FlapEvery, p.FlapFraction = o.flapEvery, o.flapShare
	}
	if o.v3User != "" {
		auth, err := model.ParseAuthProtocol(o.v3AuthProto)
		if err != nil {
			return cfg, fmt.Errorf("--v3-auth-proto: %w", err)
		}
		priv, err := model.ParsePrivProtocol(o.v3PrivProto)
		if err != nil {
			return cfg, fmt.Errorf("--v3-priv-proto: %w", err)
		}
		if o.v3AuthKey == "" || o.v3PrivKey == "" {
			return cfg, fmt.Errorf("--v3-user needs --v3-auth-key and --v3-priv-key (or %s and %s)", envAuthKey, envPrivKey)
		}
		p.V3 = &snmpsim.V3User{Name: o.v3User, AuthProtocol: auth, AuthKey: o.v3AuthKey, PrivProtocol: priv, PrivKey: o.v3PrivKey}
	}
	if o.snmprec != "" {
		rec, err := snmpsim.LoadRecording(o.snmprec)
		if err != nil {
			return cfg, fmt.Errorf("--snmprec: %w", err)
		}
		p.Recording = rec
	}
	if o.deadShare < 0 || o.deadShare > 1 {
		return cfg, fmt.Errorf("--dead-fraction must be between 0 and 1")
	}
	if o.deadShare > 0 || o.rebootEvery > 0 {
		// Spread the choices over the devices deterministically: device
		// i's share is (i·φ) mod 1, a low-discrepancy sequence.
		cfg.Customize = func(i int, p *snmpsim.Profile) {
			share := float64(uint64(i)*0x9e3779b97f4a7c15>>11) / (1 << 53)
			if share < o.deadShare {
				p.Dead = true
			}
			if o.rebootEvery > 0 {
				p.RebootAfter = time.Duration(share*float64(o.rebootEvery)) + time.Second
				p.RebootEvery = o.rebootEvery
			}
		}
	}
	return cfg, nil
}

// writeCSV writes the inventory: region › site, one SNMP profile, the nodes.
// The profile carries the community or keys: `unetctl import` needs them,
// and this file is the only place they are written.
func (o *options) writeCSV(sim *snmpsim.Simulator, stdout io.Writer) error {
	b := &bundle.Bundle{
		Locations: []model.Location{
			{Name: o.region, Kind: model.KindRegion, Description: "simulated devices"},
			{Name: o.site, Kind: model.KindSite, Parent: o.region, Description: "unet-snmpsim devices"},
		},
	}
	profile := model.SNMPProfile{Name: o.site + "-snmp", Version: model.SNMPv2c, Community: o.community}
	switch v, err := model.ParseSNMPVersion(o.csvVersion); {
	case err != nil:
		return fmt.Errorf("--csv-snmp-version: %w", err)
	case v == model.SNMPv3:
		if o.v3User == "" {
			return errors.New("--csv-snmp-version 3 needs --v3-user")
		}
		auth, _ := model.ParseAuthProtocol(o.v3AuthProto)
		priv, _ := model.ParsePrivProtocol(o.v3PrivProto)
		profile = model.SNMPProfile{Name: o.site + "-snmpv3", Version: model.SNMPv3, User: o.v3User,
			AuthProtocol: auth, AuthKey: o.v3AuthKey, PrivProtocol: priv, PrivKey: o.v3PrivKey}
	}
	if sim.Port() != model.DefaultSNMPPort {
		profile.Port = sim.Port()
	}
	b.SNMPProfiles = []model.SNMPProfile{profile}
	for _, d := range sim.Devices() {
		b.Nodes = append(b.Nodes, model.Node{
			Name:              d.Name,
			Vendor:            d.Vendor,
			Model:             d.Model,
			Role:              d.Role,
			Lifecycle:         model.LifecycleLive,
			ManagementAddress: d.Addr.String(),
			Location:          o.site,
			SNMPProfile:       profile.Name,
			Serial:            d.Serial,
			Tags:              []string{"simulated"},
		})
	}
	if o.csv == "-" {
		return bundle.EncodeCSV(stdout, b)
	}
	// Written whole then renamed, so that a reader never sees half a file;
	// 0600 because it holds a secret.
	tmp := o.csv + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	err = bundle.EncodeCSV(f, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, o.csv)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--csv %s: %w", o.csv, err)
	}
	return nil
}
