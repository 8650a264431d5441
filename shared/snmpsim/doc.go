// Package snmpsim simulates SNMP devices for tests, demos and benchmarks:
// real SNMP over UDP on 127.x.y.z addresses, tens of thousands of devices
// in one process.
//
// # Serving
//
// A Simulator serves Config.Devices devices on consecutive addresses from
// Config.Base (host bytes .0 and .255 skipped: 127.1.0.254 is followed by
// 127.1.1.1), all on one UDP port. A few SO_REUSEPORT sockets bound to
// 0.0.0.0 receive every request; IP_PKTINFO tells which address it was
// sent to, and the reply leaves from that address, as connected clients
// (gosnmp) require. 50,000 devices thus take two file descriptors and about
// 10 MB. Two simulators must not share a port: the kernel would spread
// requests over both.
//
//	cfg := snmpsim.DefaultConfig()
//	cfg.Devices, cfg.Port = 1000, 0 // 0: a free port, see Port()
//	sim, err := snmpsim.New(cfg, logger)
//	err = sim.Start(ctx)
//	defer sim.Close()
//	sim.Device(netip.MustParseAddr("127.1.0.7")).SetDead(true)
//
// # Protocol
//
// SNMPv2c (community checked; a wrong one is ignored and counted) and
// SNMPv3 with the User-based Security Model: engine discovery (a Report
// with usmStatsUnknownEngineIDs and the engine ID, boots and time),
// authentication with HMAC-MD5/SHA-1/SHA-2 (RFC 3414, RFC 7860), privacy
// with AES-128 (RFC 3826), the time window, and Reports for unknown users,
// wrong digests and unsupported levels; a wrong privacy key gets silence,
// as from Net-SNMP. Get, GetNext and GetBulk follow RFC 3416: lexicographic
// order, noSuchObject/noSuchInstance, endOfMibView, non-repeaters,
// max-repetitions, GetBulk responses cut to Profile.MaxResponseSize, tooBig
// for Get and GetNext; Set gets noAccess. SNMPv1, DES and AES-192/256 are
// not served.
//
// # What a device shows
//
// Generated devices imitate Cisco IOS-XE, Juniper Junos, Arista EOS or
// Net-SNMP on Linux and serve the system group, ifNumber, ifTable, ifXTable,
// the chassis in ENTITY-MIB (not on Linux) and the LLDP remote table, whose
// neighbours are other simulated devices (uplink k of device i leads to
// device i XOR 2^k). Every value is computed from (Config.Seed, device
// index, time), so nothing per interface is stored and two reads at one
// instant agree: counters follow a diurnal sine with noise, never go back,
// wrap in their 32-bit forms, and restart at reboots; flaps move
// ifOperStatus and ifLastChange. Devices can instead replay a recorded walk
// (LoadRecording, the .snmprec format of the snmpsim project).
//
// # Behaviours
//
// Profile sets per device (Config.Customize varies it by device) the
// vendor, interface count, traffic, flaps, reboots, delay, drop rate, dead
// devices and malformed replies; Device changes them while serving
// (SetDead, SetDropRate, SetDelay, SetMalformed, TriggerReboot, Flap,
// SetOperStatus). Stats, Device.Stats, Recent and Config.OnRequest tell who
// polled which device when, and what came of it.
package snmpsim
