package poller

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Config configures a Poller. Start from DefaultConfig; zero fields get
// the defaults in New.
type Config struct {
	// Workers is the global concurrency limit: polls in flight at once,
	// whatever the number of devices. Default 64.
	Workers int `yaml:"workers"`
	// LabelEvery: the label columns (ifDescr, ifName, ifAlias, ifType,
	// ifSpeed, ifHighSpeed) and the system group are read every LabelEvery
	// polls, and whenever ifNumber or sysUpTime suggest a change, or an
	// unknown ifIndex shows up. Counters and statuses are read every poll.
	// A device's first poll reads everything; its cycle then starts at an
	// offset from a hash of its node name, so that devices started
	// together read their labels in different intervals.
	// Default 10; 1 reads them every time.
	LabelEvery int `yaml:"label-every"`
	// LLDPEvery: the LLDP remote table is read every LLDPEvery polls, at
	// a per-device offset half a cycle from the labels'.
	// Default 10; negative never reads it.
	LLDPEvery int `yaml:"lldp-every"`
	// BreakerFailures is the number of consecutive failed polls after which
	// a device is reported unreachable and polled less often. Default 3.
	BreakerFailures int `yaml:"breaker-failures"`
	// BreakerBackoff is the first pause of an open breaker, doubled at each
	// further failure up to BreakerMaxBackoff. Default: twice the device's
	// interval, and 30 minutes (never less than the interval).
	BreakerBackoff    time.Duration `yaml:"breaker-backoff"`
	BreakerMaxBackoff time.Duration `yaml:"breaker-max-backoff"`
	// MisbehaviourTopN bounds the per-device misbehaviour metrics to the N
	// devices with the most incidents within MisbehaviourWindow, so that
	// label cardinality stays small with 10,000 devices. Default 20 and 1h.
	MisbehaviourTopN   int           `yaml:"misbehaviour-top-n"`
	MisbehaviourWindow time.Duration `yaml:"misbehaviour-window"`
	// ExtraOIDs adds OIDs to the vendor profiles, by profile name
	// ("cisco", "juniper", "arista", "generic"), or to all with "all".
	// Their values land in DeviceState.Extra.
	ExtraOIDs map[string][]OIDSpec `yaml:"extra-oids"`
	// SourceAddress is the local IP address polls are sent from; empty
	// lets the kernel choose. Devices whose ACLs allow only the agents'
	// addresses need it on a multi-homed host (and tests tell agents on
	// one host apart by it).
	SourceAddress string `yaml:"source-address"`
}

// OIDSpec is an extra OID to read at every poll.
type OIDSpec struct {
	// Name is the key in DeviceState.Extra (columns add ".index").
	Name string `yaml:"name"`
	// OID, dotted: a scalar instance ending in .0 (1.3.6.1.4.1.2021.10.1.3.1
	// is not one: make it a column), or a column (Column true) whose every
	// row is read.
	OID    string `yaml:"oid"`
	Column bool   `yaml:"column"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Workers:            64,
		LabelEvery:         10,
		LLDPEvery:          10,
		BreakerFailures:    3,
		BreakerMaxBackoff:  30 * time.Minute,
		MisbehaviourTopN:   20,
		MisbehaviourWindow: time.Hour,
	}
}

// normalize fills defaults and checks the configuration.
func (c *Config) normalize() error {
	d := DefaultConfig()
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.LabelEvery == 0 {
		c.LabelEvery = d.LabelEvery
	}
	if c.LLDPEvery == 0 {
		c.LLDPEvery = d.LLDPEvery
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = d.BreakerFailures
	}
	if c.BreakerMaxBackoff == 0 {
		c.BreakerMaxBackoff = d.BreakerMaxBackoff
	}
	if c.MisbehaviourTopN == 0 {
		c.MisbehaviourTopN = d.MisbehaviourTopN
	}
	if c.MisbehaviourWindow == 0 {
		c.MisbehaviourWindow = d.MisbehaviourWindow
	}
	var errs []error
	if c.SourceAddress != "" && net.ParseIP(c.SourceAddress) == nil {
		errs = append(errs, fmt.Errorf("source-address %q is not an IP address", c.SourceAddress))
	}
	if c.Workers < 1 || c.Workers > 100_000 {
		errs = append(errs, fmt.Errorf("workers must be between 1 and 100000, not %d", c.Workers))
	}
	if c.LabelEvery < 1 {
		errs = append(errs, fmt.Errorf("label-every must be at least 1, not %d", c.LabelEvery))
	}
	if c.BreakerFailures < 1 {
		errs = append(errs, fmt.Errorf("breaker failures must be at least 1, not %d", c.BreakerFailures))
	}
	if c.BreakerBackoff < 0 || c.BreakerMaxBackoff < 0 || c.MisbehaviourWindow < 0 {
		errs = append(errs, errors.New("breaker back-offs and the misbehaviour window cannot be negative"))
	}
	if c.MisbehaviourTopN < 0 {
		errs = append(errs, fmt.Errorf("misbehaviour top-N cannot be negative (%d)", c.MisbehaviourTopN))
	}
	for profile, specs := range c.ExtraOIDs {
		if !isProfileName(profile) && profile != "all" {
			errs = append(errs, fmt.Errorf("extra OIDs for unknown profile %q (use cisco, juniper, arista, generic or all)", profile))
		}
		for _, s := range specs {
			if err := s.validate(); err != nil {
				errs = append(errs, fmt.Errorf("extra OIDs of %s: %w", profile, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s OIDSpec) validate() error {
	if s.Name == "" || strings.ContainsAny(s.Name, " \t\n") {
		return fmt.Errorf("OID %s: the name must be a non-empty word", s.OID)
	}
	if _, ok := parseOID(s.OID); !ok {
		return fmt.Errorf("%s: %q is not a dotted OID", s.Name, s.OID)
	}
	if !s.Column && !strings.HasSuffix(strings.TrimPrefix(s.OID, "."), ".0") {
		return fmt.Errorf("%s: scalar OID %s does not end in .0 (set Column to read a table column)", s.Name, s.OID)
	}
	return nil
}

// Target is a device to poll.
type Target struct {
	// Node is the node's name: the device's identity in results, metrics
	// and the schedule's phase.
	Node string
	// Address is the device's IP address (or host name).
	Address string
	// Profile holds the credentials, port, interval, timeout, retries and
	// max-repetitions; unset fields take model's defaults.
	Profile   model.SNMPProfile
	Overrides Overrides
}

// Overrides adjust one device's polling, for devices that misbehave with
// the profile's settings. Zero values keep the profile's.
type Overrides struct {
	MaxRepetitions int
	Timeout        time.Duration
	Retries        *int
	Interval       time.Duration
	// Counters32 reads the 32-bit ifTable counters even when the 64-bit
	// ones exist (agents with broken ifHC* counters).
	Counters32 bool
}

// settings are a target's effective polling parameters.
type settings struct {
	port           uint16
	timeout        time.Duration
	retries        int
	interval       time.Duration
	maxRepetitions int
}

// settings resolves the profile's values, its defaults and the overrides.
func (t *Target) settings() settings {
	p := t.Profile
	p.Normalize()
	s := settings{
		port:           uint16(p.Port),
		timeout:        time.Duration(p.Timeout),
		retries:        p.RetryCount(),
		interval:       time.Duration(p.Interval),
		maxRepetitions: p.MaxRepetitions,
	}
	o := t.Overrides
	if o.MaxRepetitions > 0 {
		s.maxRepetitions = o.MaxRepetitions
	}
	if o.Timeout > 0 {
		s.timeout = o.Timeout
	}
	if o.Retries != nil && *o.Retries >= 0 {
		s.retries = *o.Retries
	}
	if o.Interval > 0 {
		s.interval = o.Interval
	}
	s.maxRepetitions = min(max(s.maxRepetitions, 1), maxRepetitionsCap)
	return s
}

// maxRepetitionsCap bounds a GetBulk's repetitions whatever the profile
// says: the response of a larger one would not fit a datagram anyway.
const maxRepetitionsCap = 1000

// validate checks what the poller needs from a target.
func (t *Target) validate() error {
	var errs []error
	if t.Node == "" {
		errs = append(errs, errors.New("the node name is empty"))
	}
	if t.Address == "" {
		errs = append(errs, errors.New("the address is empty"))
	} else if a, err := netip.ParseAddr(t.Address); err == nil && (a.IsUnspecified() || a.IsMulticast()) {
		errs = append(errs, fmt.Errorf("%s cannot be polled", a))
	}
	switch t.Profile.Version {
	case model.SNMPv2c:
		if t.Profile.Community == "" {
			errs = append(errs, errors.New("SNMP v2c needs a community"))
		}
	case model.SNMPv3:
		if t.Profile.User == "" {
			errs = append(errs, errors.New("SNMP v3 needs a user"))
		}
		if _, ok := authProtocol(t.Profile.AuthProtocol); !ok {
			errs = append(errs, fmt.Errorf("auth protocol %q is not supported", t.Profile.AuthProtocol))
		}
		if _, ok := privProtocol(t.Profile.PrivProtocol); !ok {
			errs = append(errs, fmt.Errorf("priv protocol %q is not supported", t.Profile.PrivProtocol))
		}
	default:
		errs = append(errs, fmt.Errorf("SNMP version %q is not supported (2c or 3)", t.Profile.Version))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("target %q: %w", t.Node, err)
	}
	return nil
}
