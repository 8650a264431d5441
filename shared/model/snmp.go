package model

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes as "2s", "1m30s".
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 2s, 500ms, 1m)", b)
	}
	*d = Duration(v)
	return nil
}

// SNMP profile defaults, used when a field is left unset.
const (
	DefaultSNMPPort           = 161
	DefaultSNMPTimeout        = Duration(2 * time.Second)
	DefaultSNMPRetries        = 1
	DefaultSNMPInterval       = Duration(60 * time.Second)
	DefaultSNMPMaxRepetitions = 25
)

// SNMPProfile holds how to poll a set of nodes. Community, AuthKey and
// PrivKey are secrets: write-only through the API (Redacted), never logged
// (LogValue), and a missing secret on update keeps the stored one
// (KeepSecretsFrom).
type SNMPProfile struct {
	Meta
	Name           string       `json:"name"`
	Version        SNMPVersion  `json:"version"`
	Community      string       `json:"community,omitempty"`
	User           string       `json:"user,omitempty"`
	AuthProtocol   AuthProtocol `json:"auth_protocol,omitempty"`
	AuthKey        string       `json:"auth_key,omitempty"`
	PrivProtocol   PrivProtocol `json:"priv_protocol,omitempty"`
	PrivKey        string       `json:"priv_key,omitempty"`
	Port           int          `json:"port,omitempty"`
	Timeout        Duration     `json:"timeout,omitempty"`
	Retries        *int         `json:"retries,omitempty"` // nil means the default; 0 is a valid choice
	Interval       Duration     `json:"interval,omitempty"`
	MaxRepetitions int          `json:"max_repetitions,omitempty"`
	// SecretsSet names the secrets the store holds for this profile. It is
	// output only: the API shows it instead of the secrets themselves.
	SecretsSet []string `json:"secrets_set,omitempty"`
}

// Normalize fills the defaults of unset fields.
func (p *SNMPProfile) Normalize() {
	if p.Port == 0 {
		p.Port = DefaultSNMPPort
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultSNMPTimeout
	}
	if p.Retries == nil {
		r := DefaultSNMPRetries
		p.Retries = &r
	}
	if p.Interval == 0 {
		p.Interval = DefaultSNMPInterval
	}
	if p.MaxRepetitions == 0 {
		p.MaxRepetitions = DefaultSNMPMaxRepetitions
	}
	p.SecretsSet = nil
}

// RetryCount is the number of retries, the default when unset.
func (p *SNMPProfile) RetryCount() int {
	if p.Retries == nil {
		return DefaultSNMPRetries
	}
	return *p.Retries
}

// Validate checks the profile, secrets included: call KeepSecretsFrom first
// on an update so that secrets left out of the request count as present.
func (p *SNMPProfile) Validate() error {
	var v ValidationError
	checkName(&v, "name", p.Name)
	switch p.Version {
	case "":
		v.add("version", "is required (2c or 3)")
	case SNMPv2c:
		if p.Community == "" {
			v.add("community", "is required for SNMP v2c")
		}
		checkSecret(&v, "community", p.Community, 1)
	case SNMPv3:
		p.validateV3(&v)
	default:
		_, err := ParseSNMPVersion(string(p.Version))
		v.addErr("version", err)
	}
	if p.Port < 0 || p.Port > 65535 {
		v.add("port", fmt.Sprintf("%d is not a UDP port", p.Port))
	}
	if p.Timeout < 0 || time.Duration(p.Timeout) > time.Minute {
		v.add("timeout", "must be between 0 and 1m")
	}
	if p.Retries != nil && (*p.Retries < 0 || *p.Retries > 10) {
		v.add("retries", "must be between 0 and 10")
	}
	if p.Interval != 0 && (time.Duration(p.Interval) < time.Second || time.Duration(p.Interval) > 24*time.Hour) {
		v.add("interval", "must be between 1s and 24h")
	}
	if p.MaxRepetitions < 0 || p.MaxRepetitions > 1000 {
		v.add("max_repetitions", "must be between 1 and 1000 (0 means the default)")
	}
	return v.err()
}

func (p *SNMPProfile) validateV3(v *ValidationError) {
	if p.User == "" {
		v.add("user", "is required for SNMP v3")
	}
	checkText(v, "user", p.User)
	if p.AuthProtocol != "" {
		_, err := ParseAuthProtocol(string(p.AuthProtocol))
		v.addErr("auth_protocol", err)
		if p.AuthKey == "" {
			v.add("auth_key", "is required when auth_protocol is set")
		}
	} else if p.AuthKey != "" {
		v.add("auth_protocol", "is required when auth_key is set")
	}
	checkSecret(v, "auth_key", p.AuthKey, 8)
	if p.PrivProtocol != "" {
		_, err := ParsePrivProtocol(string(p.PrivProtocol))
		v.addErr("priv_protocol", err)
		if p.AuthProtocol == "" {
			v.add("priv_protocol", "privacy needs authentication: set auth_protocol too")
		}
		if p.PrivKey == "" {
			v.add("priv_key", "is required when priv_protocol is set")
		}
	} else if p.PrivKey != "" {
		v.add("priv_protocol", "is required when priv_key is set")
	}
	checkSecret(v, "priv_key", p.PrivKey, 8)
}

// checkSecret validates a secret without ever echoing it in the message.
func checkSecret(v *ValidationError, field, s string, minLen int) {
	switch {
	case s == "":
	case len(s) < minLen:
		v.add(field, fmt.Sprintf("must be at least %d characters", minLen))
	case len(s) > 256:
		v.add(field, "is longer than 256 characters")
	case strings.ContainsAny(s, "\x00\r\n"):
		v.add(field, "must not contain line breaks or NUL characters")
	}
}

// SecurityLevel is the USM level implied by the protocols set.
func (p *SNMPProfile) SecurityLevel() string {
	switch {
	case p.Version != SNMPv3:
		return ""
	case p.PrivProtocol != "":
		return "authPriv"
	case p.AuthProtocol != "":
		return "authNoPriv"
	default:
		return "noAuthNoPriv"
	}
}

// secrets lists the secret fields with their names.
func (p *SNMPProfile) secrets() []struct {
	name string
	val  *string
} {
	return []struct {
		name string
		val  *string
	}{{"community", &p.Community}, {"auth_key", &p.AuthKey}, {"priv_key", &p.PrivKey}}
}

// Redacted returns a copy without secrets, naming the ones that are set in
// SecretsSet: what the API returns.
func (p SNMPProfile) Redacted() SNMPProfile {
	p.SecretsSet = nil
	for _, s := range p.secrets() {
		if *s.val != "" {
			p.SecretsSet = append(p.SecretsSet, s.name)
			*s.val = ""
		}
	}
	return p
}

// KeepSecretsFrom copies each secret of old that p leaves empty, so that an
// update or an import without secrets keeps the stored ones. A secret is
// only carried over while it still applies (a community is dropped when the
// profile moves to v3).
func (p *SNMPProfile) KeepSecretsFrom(old *SNMPProfile) {
	if p.Version == SNMPv2c && p.Community == "" {
		p.Community = old.Community
	}
	if p.Version == SNMPv3 {
		if p.AuthKey == "" && p.AuthProtocol != "" {
			p.AuthKey = old.AuthKey
		}
		if p.PrivKey == "" && p.PrivProtocol != "" {
			p.PrivKey = old.PrivKey
		}
	}
}

// LogValue keeps secrets out of logs whatever the handler.
func (p SNMPProfile) LogValue() slog.Value {
	r := p.Redacted()
	return slog.GroupValue(slog.String("name", r.Name), slog.String("version", string(r.Version)),
		slog.String("user", r.User), slog.Any("secrets_set", r.SecretsSet))
}

// String is the redacted form, so %v and %s never print a secret.
func (p SNMPProfile) String() string {
	r := p.Redacted()
	return fmt.Sprintf("SNMPProfile{name=%s version=%s user=%s secrets_set=%v}", r.Name, r.Version, r.User, r.SecretsSet)
}
