package poller

import (
	"context"
	"net"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/unet-project/unet/shared/model"
)

// SNMPv3 polls go through gosnmp, which holds the USM state. Sessions are
// opened per poll and closed after it: a connected GoSNMP holds a 64 KiB
// receive buffer, so 10,000 persistent sessions would cost ~700 MB, while
// per-poll sessions cost Workers × 64 KiB. What a session learns that is
// worth keeping (the engine and localized keys) is carried over in
// engineState instead.

// maxOIDsPerRequest lifts gosnmp's default cap of 60 varbinds per request:
// a label poll walks ~20 columns side by side, plus the non-repeaters.
const maxOIDsPerRequest = 128

// engineState is what an SNMPv3 session learned about the device's engine.
// Reusing it saves the discovery round trip and the key localization
// (a megabyte of hashing per key) at every poll.
type engineState struct {
	id          string
	boots, time uint32
	at          time.Time // when time was read
	authKey     []byte
	privKey     []byte
}

// newSession builds a session for target t. It is not connected.
func newSession(ctx context.Context, t *Target, s settings, eng *engineState, source string) *gosnmp.GoSNMP {
	g := &gosnmp.GoSNMP{
		Target:             t.Address,
		Port:               s.port,
		Transport:          "udp",
		Context:            ctx,
		Timeout:            s.timeout,
		Retries:            s.retries,
		ExponentialTimeout: true, // back off: a congested device gets more time at each retry
		MaxOids:            maxOIDsPerRequest,
		MaxRepetitions:     uint32(s.maxRepetitions),
	}
	if source != "" {
		g.LocalAddr = net.JoinHostPort(source, "0")
	}
	p := &t.Profile
	if p.Version != model.SNMPv3 {
		g.Version = gosnmp.Version2c
		g.Community = p.Community
		return g
	}
	g.Version = gosnmp.Version3
	g.SecurityModel = gosnmp.UserSecurityModel
	auth, _ := authProtocol(p.AuthProtocol)
	priv, _ := privProtocol(p.PrivProtocol)
	switch {
	case priv != gosnmp.NoPriv:
		g.MsgFlags = gosnmp.AuthPriv
	case auth != gosnmp.NoAuth:
		g.MsgFlags = gosnmp.AuthNoPriv
	default:
		g.MsgFlags = gosnmp.NoAuthNoPriv
	}
	usp := &gosnmp.UsmSecurityParameters{
		UserName:                 p.User,
		AuthenticationProtocol:   auth,
		AuthenticationPassphrase: p.AuthKey,
		PrivacyProtocol:          priv,
		PrivacyPassphrase:        p.PrivKey,
	}
	if eng != nil && eng.id != "" {
		usp.AuthoritativeEngineID = eng.id
		usp.AuthoritativeEngineBoots = eng.boots
		// The engine's clock ran on since we read it (RFC 3414 §2.3): a
		// stale time would fall outside the 150 s window and cost a
		// notInTimeWindow report and a resend.
		elapsed := max(0, time.Since(eng.at).Seconds())
		usp.AuthoritativeEngineTime = eng.time + uint32(min(elapsed, 1<<31))
		usp.SecretKey = eng.authKey
		usp.PrivacyKey = eng.privKey
	}
	g.SecurityParameters = usp
	return g
}

// saveEngine keeps what a finished v3 session learned.
func saveEngine(g *gosnmp.GoSNMP) *engineState {
	usp, ok := g.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || usp.AuthoritativeEngineID == "" {
		return nil
	}
	return &engineState{
		id:      usp.AuthoritativeEngineID,
		boots:   usp.AuthoritativeEngineBoots,
		time:    usp.AuthoritativeEngineTime,
		at:      time.Now(),
		authKey: usp.SecretKey,
		privKey: usp.PrivacyKey,
	}
}

// authProtocol maps a profile's protocol to gosnmp's ("" is none).
func authProtocol(p model.AuthProtocol) (gosnmp.SnmpV3AuthProtocol, bool) {
	switch p {
	case "":
		return gosnmp.NoAuth, true
	case model.AuthMD5:
		return gosnmp.MD5, true
	case model.AuthSHA:
		return gosnmp.SHA, true
	case model.AuthSHA224:
		return gosnmp.SHA224, true
	case model.AuthSHA256:
		return gosnmp.SHA256, true
	case model.AuthSHA384:
		return gosnmp.SHA384, true
	case model.AuthSHA512:
		return gosnmp.SHA512, true
	}
	return gosnmp.NoAuth, false
}

// privProtocol maps a profile's protocol to gosnmp's ("" is none).
func privProtocol(p model.PrivProtocol) (gosnmp.SnmpV3PrivProtocol, bool) {
	switch p {
	case "":
		return gosnmp.NoPriv, true
	case model.PrivDES:
		return gosnmp.DES, true
	case model.PrivAES:
		return gosnmp.AES, true
	case model.PrivAES192:
		return gosnmp.AES192, true
	case model.PrivAES256:
		return gosnmp.AES256, true
	case model.PrivAES192C:
		return gosnmp.AES192C, true
	case model.PrivAES256C:
		return gosnmp.AES256C, true
	}
	return gosnmp.NoPriv, false
}
