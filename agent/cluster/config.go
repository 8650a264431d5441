package cluster

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/unet-project/unet/shared/ring"
)

// Config configures a Cluster. Start from DefaultConfig; zero durations
// and counts get the defaults in New.
type Config struct {
	// Name identifies this agent among the members: unique in the site.
	// Default: the host name.
	Name string `yaml:"name"`
	// Site is the shard group: only members that advertise the same Site
	// share the nodes. An agent serving several sites puts its sorted
	// site list here. Required.
	Site string `yaml:"site"`
	// BindAddr and BindPort are where gossip listens, UDP and TCP.
	// Default 0.0.0.0:7946; port 0 takes a free one (tests).
	BindAddr string `yaml:"bind-addr"`
	BindPort int    `yaml:"bind-port"`
	// AdvertiseAddr and AdvertisePort are what the others dial, when that
	// is not the bind address (NAT, containers). Default: the bind
	// address (with 0.0.0.0, the first private address of the host) and
	// the bind port.
	AdvertiseAddr string `yaml:"advertise-addr"`
	AdvertisePort int    `yaml:"advertise-port"`
	// Join lists members to join through: host:port or a DNS name (every
	// address it resolves to; the port defaults to BindPort). Joining is
	// retried in the background, JoinRetry doubling up to 30 s, for as
	// long as no other member is known, so agents may start in any order
	// and an isolated agent finds the others again. Empty: this agent
	// waits for others to join it.
	Join      []string      `yaml:"join"`
	JoinRetry time.Duration `yaml:"join-retry"`
	// SecretKey, base64 of 16, 24 or 32 bytes, turns on gossip encryption
	// (AES-GCM); all members need the same key. Empty: gossip in clear.
	SecretKey string `yaml:"secret-key"`
	// SettleTime: a membership change is applied once the member set has
	// not changed for that long, so a member that flaps (restarts, or
	// loses its health for a moment) does not reshuffle the nodes twice.
	// Default 2 s. SettleTimeMax bounds the wait when the set never
	// settles (a member flapping on and on): the change is then applied
	// anyway. Default 30 s.
	SettleTime    time.Duration `yaml:"settle-time"`
	SettleTimeMax time.Duration `yaml:"settle-time-max"`
	// Failure detection (memberlist's SWIM): every ProbeInterval each
	// member probes another, which must answer within ProbeTimeout
	// (directly or through IndirectChecks others) or becomes suspect; a
	// suspect that does not refute within the suspicion timeout is
	// declared dead. The suspicion timeout is SuspicionMult ×
	// max(1, log10 N) × ProbeInterval when the other members confirm the
	// suspicion, at most SuspicionMaxTimeoutMult times that without
	// confirmations. With the defaults (500 ms, 250 ms, 4, 4) and fewer
	// than 10 members: 2 s, up to 8 s, so a killed agent is declared dead
	// within about 3 to 10 s (about 3 s with 3 members), and its nodes are
	// taken over SettleTime later. A graceful Leave is seen at once.
	ProbeInterval           time.Duration `yaml:"probe-interval"`
	ProbeTimeout            time.Duration `yaml:"probe-timeout"`
	SuspicionMult           int           `yaml:"suspicion-mult"`
	SuspicionMaxTimeoutMult int           `yaml:"suspicion-max-timeout-mult"`
	// GossipInterval is how often state changes are gossiped. Default
	// 200 ms.
	GossipInterval time.Duration `yaml:"gossip-interval"`
	// APIAddress is advertised to the others (for status pages and
	// unetctl): the agent's HTTP address.
	APIAddress string `yaml:"api-address"`
	// Version is the agent's version, advertised to the others. Set by
	// main from the build.
	Version string `yaml:"-"`
	// Ring configures the consistent hashing of nodes to members. All the
	// agents of a site must use the same: a member advertising another is
	// logged.
	Ring ring.Config `yaml:"ring"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		JoinRetry:               time.Second,
		SettleTime:              2 * time.Second,
		SettleTimeMax:           30 * time.Second,
		ProbeInterval:           500 * time.Millisecond,
		ProbeTimeout:            250 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 4,
		GossipInterval:          200 * time.Millisecond,
		Ring:                    ring.DefaultConfig(),
	}
}

// Limits that keep the advertised metadata within memberlist's 512 bytes.
const (
	maxFieldLen   = 128
	maxVersionLen = 64
	maxJoinRetry  = 30 * time.Second
)

// normalize fills the defaults of zero fields and checks the result,
// naming every problem at once.
func (c *Config) normalize() error {
	d := DefaultConfig()
	if c.Name == "" {
		c.Name, _ = os.Hostname()
	}
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.JoinRetry, d.JoinRetry}, {&c.SettleTime, d.SettleTime}, {&c.SettleTimeMax, d.SettleTimeMax},
		{&c.ProbeInterval, d.ProbeInterval}, {&c.ProbeTimeout, d.ProbeTimeout}, {&c.GossipInterval, d.GossipInterval}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.SuspicionMult == 0 {
		c.SuspicionMult = d.SuspicionMult
	}
	if c.SuspicionMaxTimeoutMult == 0 {
		c.SuspicionMaxTimeoutMult = d.SuspicionMaxTimeoutMult
	}
	if len(c.Version) > maxVersionLen {
		c.Version = c.Version[:maxVersionLen]
	}

	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("cluster name is required (no host name to default to): a name unique among the site's agents"))
	} else if len(c.Name) > maxFieldLen {
		errs = append(errs, fmt.Errorf("cluster name %q: at most %d bytes", c.Name, maxFieldLen))
	}
	if c.Site == "" {
		errs = append(errs, errors.New("cluster site is required: only agents of the same site share its nodes"))
	} else if len(c.Site) > maxFieldLen {
		errs = append(errs, fmt.Errorf("cluster site %q: at most %d bytes", c.Site, maxFieldLen))
	}
	if len(c.APIAddress) > maxFieldLen {
		errs = append(errs, fmt.Errorf("cluster api-address %q: at most %d bytes", c.APIAddress, maxFieldLen))
	}
	if net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("cluster bind-addr %q: an IP address is needed (0.0.0.0 for all)", c.BindAddr))
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		errs = append(errs, fmt.Errorf("cluster bind-port %d: must be between 0 (any free port) and 65535", c.BindPort))
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		errs = append(errs, fmt.Errorf("cluster advertise-addr %q: an IP address is needed", c.AdvertiseAddr))
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		errs = append(errs, fmt.Errorf("cluster advertise-port %d: must be between 0 (the bind port) and 65535", c.AdvertisePort))
	}
	for _, j := range c.Join {
		if j == "" {
			errs = append(errs, errors.New("cluster join: an address is empty"))
			continue
		}
		// A bare host is fine (BindPort); host:port needs a valid port.
		if host, port, err := net.SplitHostPort(j); err == nil {
			if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 || host == "" {
				errs = append(errs, fmt.Errorf("cluster join %q: want host:port or a DNS name", j))
			}
		}
	}
	if _, err := c.secretKey(); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"join-retry", c.JoinRetry}, {"settle-time", c.SettleTime}, {"settle-time-max", c.SettleTimeMax},
		{"probe-interval", c.ProbeInterval}, {"probe-timeout", c.ProbeTimeout}, {"gossip-interval", c.GossipInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("cluster %s must be positive (got %s)", d.name, d.v))
		}
	}
	if c.SettleTimeMax < c.SettleTime {
		errs = append(errs, fmt.Errorf("cluster settle-time-max (%s) is shorter than settle-time (%s)", c.SettleTimeMax, c.SettleTime))
	}
	if c.ProbeTimeout >= c.ProbeInterval {
		errs = append(errs, fmt.Errorf("cluster probe-timeout (%s) must be shorter than probe-interval (%s)", c.ProbeTimeout, c.ProbeInterval))
	}
	if c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1 {
		errs = append(errs, fmt.Errorf("cluster suspicion-mult (%d) and suspicion-max-timeout-mult (%d) must be at least 1", c.SuspicionMult, c.SuspicionMaxTimeoutMult))
	}
	if err := c.Ring.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// secretKey decodes SecretKey; nil when there is none. The error never
// quotes the key.
func (c *Config) secretKey() ([]byte, error) {
	if c.SecretKey == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(c.SecretKey)
	if err != nil {
		return nil, errors.New("cluster secret-key is not valid base64 (make one with: head -c 32 /dev/urandom | base64)")
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("cluster secret-key decodes to %d bytes: it must be 16, 24 or 32 (make one with: head -c 32 /dev/urandom | base64)", len(key))
}
