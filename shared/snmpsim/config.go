package snmpsim

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/unet-project/unet/shared/model"
)

// Config configures a Simulator. Start from DefaultConfig; zero fields get
// the documented defaults in New, except where zero is meaningful (rates,
// fractions, durations of behaviours: zero means "never").
type Config struct {
	// Base is the address of the first device. Devices take consecutive
	// addresses from it, skipping host bytes .0 and .255 (127.1.0.254 is
	// followed by 127.1.1.1), and must all lie in 127.0.0.0/8: Linux routes
	// that whole block to the loopback interface, and the simulator never
	// answers anything else. Default 127.1.0.1.
	Base netip.Addr
	// Devices is the number of devices. Default 1.
	Devices int
	// Port is the UDP port every device listens on; 0 picks a free one
	// (see Simulator.Port). DefaultConfig sets 161.
	Port int
	// Sockets is the number of SO_REUSEPORT sockets serving all devices:
	// the kernel spreads requests over them by source address, one
	// goroutine each. Default 2.
	Sockets int
	// ReceiveBuffer is SO_RCVBUF per socket, in bytes: bursts of requests
	// from a poller are dropped by the kernel when it is too small.
	// Default 4 MiB.
	ReceiveBuffer int
	// Seed makes every generated value reproducible: the same seed, device
	// index and instant give the same answer.
	Seed uint64
	// NamePrefix starts device names: device i is called
	// "<NamePrefix>-<i+1, five digits>" (sim-00001). Default "sim".
	NamePrefix string
	// Profile is how every device behaves.
	Profile Profile
	// Customize, when set, adjusts the profile of each device (index from
	// 0) before the simulator starts, e.g. to mix interface counts or make
	// a few devices slow. It runs once per device, in New.
	Customize func(index int, p *Profile)
	// RequestLog is how many recent requests Simulator.Recent keeps.
	// Default 4096; negative disables the log.
	RequestLog int
	// OnRequest, when set, is called for every request received for a
	// simulated device, on the goroutine serving the socket: keep it short.
	OnRequest func(Request)
	// Clock returns the current time; tests replace it to move time
	// forward without sleeping. Default time.Now.
	Clock func() time.Time
}

// Profile is how one device behaves. Everything not set explicitly is
// derived from the seed and the device index.
type Profile struct {
	// Vendor is what the device imitates: cisco (IOS-XE), juniper (Junos),
	// arista (EOS) or linux (Net-SNMP). Empty picks one per device.
	Vendor model.Vendor
	// Interfaces is the number of interfaces. Default 48. The last
	// min(4, Interfaces/8) are uplinks: faster, busier, and cabled to other
	// simulated devices (LLDP): uplink k of device i leads to uplink k of
	// device i XOR 2^k, when that device exists.
	Interfaces int
	// Community is the SNMPv2c community. Default "public". Requests with
	// another community are ignored, as real agents do, and counted.
	Community string
	// V3 is the SNMPv3 user, nil for none (v3 requests then get
	// usmStatsUnknownUserNames reports).
	V3 *V3User
	// Traffic shapes the interface counters.
	Traffic Traffic
	// AdminDownFraction and DownFraction are the shares of access ports
	// that are administratively down, and up but not cabled (operStatus
	// down). Down ports carry no traffic.
	AdminDownFraction float64
	DownFraction      float64
	// FlapEvery, FlapDuration, FlapFraction: when FlapEvery is set, that
	// share of the cabled interfaces goes down once per FlapEvery (at an
	// instant drawn from the seed) for FlapDuration (default 30s), which
	// ifOperStatus and ifLastChange show. Counters keep running.
	FlapEvery    time.Duration
	FlapDuration time.Duration
	FlapFraction float64
	// RebootAfter, when set, reboots the device that long after the
	// simulator started, and again every RebootEvery if set: sysUpTime,
	// counters and the SNMPv3 engine time restart from zero, the engine
	// boots count goes up by one.
	RebootAfter time.Duration
	RebootEvery time.Duration
	// Delay holds every response back that long.
	Delay time.Duration
	// DropRate is the fraction of requests left unanswered (0 to 1), as
	// by a lossy network: SNMPv3 discovery and wrong communities included.
	DropRate float64
	// Dead devices never answer.
	Dead bool
	// Malformed breaks every response in the given way.
	Malformed Malformation
	// MaxResponseSize caps a response datagram, in bytes (484 to 65000).
	// GetBulk responses are cut to fit, Get and GetNext answer tooBig, as
	// RFC 3416 says. An SNMPv3 request's msgMaxSize lowers it further.
	// Default 65000.
	MaxResponseSize int
	// Contact and Location are sysContact and sysLocation.
	Contact  string
	Location string
	// Recording, when set, backs the device with a recorded walk instead
	// of the generator (see LoadRecording). Behaviours (delay, drops,
	// reboots, malformed replies) still apply; flaps and traffic do not.
	Recording *Recording
}

// Traffic shapes the counters of cabled interfaces: each direction runs
// at Utilization of the interface speed on average (each interface gets
// between 0.2 and 1.8 times that, uplinks 1.5 times more), swinging by
// ±Amplitude over Period, with Noise on top.
type Traffic struct {
	Utilization float64 // 0 to 1; 0 means no traffic at all
	Amplitude   float64 // 0 to 0.95
	Noise       float64 // 0 to 1, relative to the lowest rate of the swing
	Period      time.Duration
}

// V3User is an SNMPv3 USM user. Keys are pass phrases, localized to each
// device's engine ID as RFC 3414 describes.
type V3User struct {
	Name         string
	AuthProtocol model.AuthProtocol // md5, sha, sha224, sha256, sha384, sha512
	AuthKey      string
	PrivProtocol model.PrivProtocol // "" (authNoPriv) or aes (AES-128, RFC 3826)
	PrivKey      string
}

// Malformation is a way of breaking responses.
type Malformation uint8

const (
	// MalformNone sends responses as they are.
	MalformNone Malformation = iota
	// MalformTruncated sends the first half of every response.
	MalformTruncated
	// MalformCorrupt sends responses whose outer length claims more bytes
	// than the datagram holds.
	MalformCorrupt
)

func (m Malformation) String() string {
	switch m {
	case MalformNone:
		return "none"
	case MalformTruncated:
		return "truncated"
	case MalformCorrupt:
		return "corrupt"
	}
	return fmt.Sprintf("Malformation(%d)", uint8(m))
}

// DefaultProfile is the profile of DefaultConfig: 48 interfaces, mixed
// vendors, community "public", moderate diurnal traffic, a few ports down.
func DefaultProfile() Profile {
	return Profile{
		Interfaces: 48,
		Community:  "public",
		Traffic: Traffic{
			Utilization: 0.3,
			Amplitude:   0.5,
			Noise:       0.3,
			Period:      24 * time.Hour,
		},
		AdminDownFraction: 0.05,
		DownFraction:      0.1,
		FlapDuration:      30 * time.Second,
		MaxResponseSize:   65000,
		Contact:           "noc@example.net",
		Location:          "unet-snmpsim",
	}
}

// DefaultConfig returns the defaults: one device at 127.1.0.1:161.
func DefaultConfig() Config {
	return Config{
		Base:          netip.AddrFrom4([4]byte{127, 1, 0, 1}),
		Devices:       1,
		Port:          161,
		Sockets:       2,
		ReceiveBuffer: 4 << 20,
		NamePrefix:    "sim",
		Profile:       DefaultProfile(),
		RequestLog:    4096,
	}
}

// Limits.
const (
	maxDevices        = 1 << 22
	maxInterfaces     = 4096
	minResponseSize   = 484 // RFC 3417: every agent accepts this much
	maxResponseSize   = 65000
	defaultMaxMsgSize = 65000
)

// normalize fills defaults and checks the configuration.
func (c *Config) normalize() error {
	if !c.Base.IsValid() {
		c.Base = netip.AddrFrom4([4]byte{127, 1, 0, 1})
	}
	if c.Devices == 0 {
		c.Devices = 1
	}
	if c.Sockets == 0 {
		c.Sockets = 2
	}
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = 4 << 20
	}
	if c.NamePrefix == "" {
		c.NamePrefix = "sim"
	}
	if c.RequestLog == 0 {
		c.RequestLog = 4096
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	var errs []error
	if !c.Base.Is4() || c.Base.As4()[0] != 127 {
		errs = append(errs, fmt.Errorf("base address %s is not in 127.0.0.0/8: the simulator only serves loopback addresses", c.Base))
	} else if b := c.Base.As4()[3]; b == 0 || b == 255 {
		errs = append(errs, fmt.Errorf("base address %s ends in .%d: start from a host byte between 1 and 254", c.Base, b))
	}
	if c.Devices < 0 || c.Devices > maxDevices {
		errs = append(errs, fmt.Errorf("devices must be between 1 and %d, not %d", maxDevices, c.Devices))
	} else if len(errs) == 0 {
		if last := addrAt(c.Base, c.Devices-1); !last.IsValid() {
			errs = append(errs, fmt.Errorf("%d devices from %s run past 127.255.255.254: use a lower base or fewer devices", c.Devices, c.Base))
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d is not a UDP port", c.Port))
	}
	if !validNamePrefix(c.NamePrefix) {
		errs = append(errs, fmt.Errorf("name prefix %q may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit (device names go into the inventory)", c.NamePrefix))
	}
	if c.Sockets < 1 || c.Sockets > 64 {
		errs = append(errs, fmt.Errorf("sockets must be between 1 and 64, not %d", c.Sockets))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// normalize fills the profile's defaults and checks it.
func (p *Profile) normalize() error {
	if p.Interfaces == 0 {
		p.Interfaces = 48
	}
	if p.Community == "" {
		p.Community = "public"
	}
	if p.MaxResponseSize == 0 {
		p.MaxResponseSize = defaultMaxMsgSize
	}
	if p.Traffic.Period == 0 {
		p.Traffic.Period = 24 * time.Hour
	}
	if p.FlapDuration == 0 {
		p.FlapDuration = 30 * time.Second
	}
	var errs []error
	if p.Vendor != "" {
		if _, ok := vendorByName(p.Vendor); !ok {
			errs = append(errs, fmt.Errorf("vendor %q is not simulated (choose among %s, or leave it empty for a mix)", p.Vendor, supportedVendors()))
		}
	}
	if p.Interfaces < 1 || p.Interfaces > maxInterfaces {
		errs = append(errs, fmt.Errorf("interfaces must be between 1 and %d, not %d", maxInterfaces, p.Interfaces))
	}
	if p.MaxResponseSize < minResponseSize || p.MaxResponseSize > maxResponseSize {
		errs = append(errs, fmt.Errorf("max response size must be between %d and %d bytes, not %d", minResponseSize, maxResponseSize, p.MaxResponseSize))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"drop rate", p.DropRate}, {"admin-down fraction", p.AdminDownFraction}, {"down fraction", p.DownFraction},
		{"flap fraction", p.FlapFraction}, {"traffic utilization", p.Traffic.Utilization}, {"traffic noise", p.Traffic.Noise},
	} {
		if f.v < 0 || f.v > 1 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, not %g", f.name, f.v))
		}
	}
	if p.Traffic.Amplitude < 0 || p.Traffic.Amplitude > 0.95 {
		errs = append(errs, fmt.Errorf("traffic amplitude must be between 0 and 0.95, not %g", p.Traffic.Amplitude))
	}
	if p.Traffic.Period < time.Second {
		errs = append(errs, fmt.Errorf("traffic period must be at least 1s, not %s", p.Traffic.Period))
	}
	if p.FlapEvery != 0 && p.FlapEvery <= p.FlapDuration {
		errs = append(errs, fmt.Errorf("flap period %s must be longer than the flap duration %s", p.FlapEvery, p.FlapDuration))
	}
	if p.Delay < 0 || p.RebootAfter < 0 || p.RebootEvery < 0 || p.FlapEvery < 0 {
		errs = append(errs, errors.New("delays and periods cannot be negative"))
	}
	if p.RebootEvery > 0 && p.RebootEvery < time.Second {
		errs = append(errs, fmt.Errorf("reboot period %s is shorter than a second", p.RebootEvery))
	}
	if p.Malformed > MalformCorrupt {
		errs = append(errs, fmt.Errorf("unknown malformation %d", p.Malformed))
	}
	if p.V3 != nil {
		if err := p.V3.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (u *V3User) validate() error {
	var errs []error
	if u.Name == "" || len(u.Name) > 32 {
		errs = append(errs, errors.New("SNMPv3 user name must have 1 to 32 characters"))
	}
	if _, ok := authHashes[u.AuthProtocol]; !ok {
		errs = append(errs, fmt.Errorf("SNMPv3 auth protocol %q is not supported (md5, sha, sha224, sha256, sha384, sha512)", u.AuthProtocol))
	}
	if len(u.AuthKey) < 8 {
		errs = append(errs, errors.New("SNMPv3 auth key must have at least 8 characters (RFC 3414)"))
	}
	switch u.PrivProtocol {
	case "":
		if u.PrivKey != "" {
			errs = append(errs, errors.New("SNMPv3 priv key given without a priv protocol"))
		}
	case model.PrivAES:
		if len(u.PrivKey) < 8 {
			errs = append(errs, errors.New("SNMPv3 priv key must have at least 8 characters (RFC 3414)"))
		}
	default:
		errs = append(errs, fmt.Errorf("SNMPv3 priv protocol %q is not supported (aes)", u.PrivProtocol))
	}
	return errors.Join(errs...)
}

// validNamePrefix checks that device names will be valid node names.
func validNamePrefix(p string) bool {
	if p == "" || len(p) > 100 {
		return false
	}
	for i, c := range p {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}
