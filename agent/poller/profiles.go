package poller

import (
	"strings"

	"github.com/unet-project/unet/shared/model"
)

// A vendor profile is picked from the enterprise number in sysObjectID and
// adds what is worth reading on that vendor's devices at every poll.
// Config.ExtraOIDs adds more, per profile.

// isProfileName reports whether ExtraOIDs may name the profile.
func isProfileName(name string) bool {
	switch name {
	case "cisco", "juniper", "arista", "generic":
		return true
	}
	return false
}

// vendorOf returns the vendor profile for a sysObjectID (gosnmp form).
func vendorOf(sysObjectID string) model.Vendor {
	rest, ok := strings.CutPrefix(sysObjectID, ".1.3.6.1.4.1.")
	if !ok {
		return model.VendorGeneric
	}
	enterprise, _, _ := strings.Cut(rest, ".")
	switch enterprise {
	case "9":
		return model.VendorCisco
	case "2636":
		return model.VendorJuniper
	case "30065":
		return model.VendorArista
	}
	return model.VendorGeneric
}

// builtinOIDs are the profiles' own additions: CPU load, the figure every
// NOC dashboard shows next to the interfaces.
func builtinOIDs(v model.Vendor) []OIDSpec {
	switch v {
	case model.VendorCisco:
		// CISCO-PROCESS-MIB cpmCPUTotal5minRev, one row per CPU.
		return []OIDSpec{{Name: "cpu_5min", OID: ".1.3.6.1.4.1.9.9.109.1.1.1.1.8", Column: true}}
	case model.VendorJuniper:
		// JUNIPER-MIB jnxOperatingCPU, one row per component.
		return []OIDSpec{{Name: "cpu", OID: ".1.3.6.1.4.1.2636.3.1.13.1.8", Column: true}}
	case model.VendorArista:
		// HOST-RESOURCES-MIB hrProcessorLoad, which EOS fills.
		return []OIDSpec{{Name: "cpu", OID: ".1.3.6.1.2.1.25.3.3.1.2", Column: true}}
	}
	return nil
}

// extraOIDs returns the OIDs to read on a device of vendor v: the
// profile's, then the configured ones.
func (c *Config) extraOIDs(v model.Vendor) []OIDSpec {
	name := string(v)
	if !isProfileName(name) {
		name = "generic"
	}
	var out []OIDSpec
	out = append(out, builtinOIDs(v)...)
	out = append(out, c.ExtraOIDs["all"]...)
	out = append(out, c.ExtraOIDs[name]...)
	return out
}
