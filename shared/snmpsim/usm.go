package snmpsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	gohash "hash"

	"github.com/unet-project/unet/shared/model"
)

// The agent side of the SNMPv3 User-based Security Model (RFC 3414) with
// the SHA-2 authentication protocols of RFC 7860 and AES-128 privacy of
// RFC 3826. gosnmp only has the manager side.

// authHashes maps the authentication protocols to their hash and MAC length.
var authHashes = map[model.AuthProtocol]struct {
	new    func() gohash.Hash
	macLen int
}{
	model.AuthMD5:    {md5.New, 12},
	model.AuthSHA:    {sha1.New, 12},
	model.AuthSHA224: {sha256.New224, 16},
	model.AuthSHA256: {sha256.New, 24},
	model.AuthSHA384: {sha512.New384, 32},
	model.AuthSHA512: {sha512.New, 48},
}

// usmStats are the usmStats counters reported in Report PDUs, in the order
// of their OIDs 1.3.6.1.6.3.15.1.1.{1..6}.0.
const (
	usmUnsupportedSecLevels = iota
	usmNotInTimeWindows
	usmUnknownUserNames
	usmUnknownEngineIDs
	usmWrongDigests
	usmDecryptionErrors
	usmStatsCount
)

// usmStatOID is the OID TLV of usmStats counter i.
func usmStatOID(i int) []byte {
	return appendOIDTLV(nil, []uint32{1, 3, 6, 1, 6, 3, 15, 1, 1, uint32(i + 1), 0})
}

// msgFlags bits.
const (
	flagAuth       = 0x01
	flagPriv       = 0x02
	flagReportable = 0x04
)

// timeWindow is how far a request's engine time may be from the agent's
// (RFC 3414 §3.2.7).
const timeWindow = 150

// usmUser is a V3User with its pass phrases already hashed: the 1 MB
// password-to-key expansion runs once per user, localization (cheap) once
// per device.
type usmUser struct {
	name    string
	newHash func() gohash.Hash
	macLen  int
	level   byte // flagAuth, or flagAuth|flagPriv
	authKu  []byte
	privKu  []byte
}

func newUSMUser(u *V3User) *usmUser {
	h := authHashes[u.AuthProtocol]
	uu := &usmUser{name: u.Name, newHash: h.new, macLen: h.macLen, level: flagAuth}
	uu.authKu = passwordToKey(h.new, u.AuthKey)
	if u.PrivProtocol != "" {
		uu.level |= flagPriv
		// RFC 3826 §1.2: the privacy key is derived with the
		// authentication protocol's hash.
		uu.privKu = passwordToKey(h.new, u.PrivKey)
	}
	return uu
}

// passwordToKey is RFC 3414 §A.2: hash a megabyte of the repeated pass phrase.
func passwordToKey(newHash func() gohash.Hash, password string) []byte {
	h := newHash()
	var buf [64]byte
	pi := 0
	for n := 0; n < 1<<20; n += len(buf) {
		for i := range buf {
			buf[i] = password[pi]
			pi++
			if pi == len(password) {
				pi = 0
			}
		}
		h.Write(buf[:])
	}
	return h.Sum(nil)
}

// localize is RFC 3414 §A.2.2: H(Ku || engineID || Ku).
func localize(newHash func() gohash.Hash, ku, engineID []byte) []byte {
	h := newHash()
	h.Write(ku)
	h.Write(engineID)
	h.Write(ku)
	return h.Sum(nil)
}

// usmKeys are a user's keys localized to one device's engine.
type usmKeys struct {
	user *usmUser
	auth []byte
	priv cipher.Block // AES-128, nil without privacy
}

// engineID is the device's snmpEngineID: the Net-SNMP enterprise number in
// the RFC 3411 format, followed by the device's IPv4 address (format 1).
func (d *Device) engineID() [9]byte {
	a := d.s.addrOf(d.index).As4()
	return [9]byte{0x80, 0x00, 0x1f, 0x88, 0x01, a[0], a[1], a[2], a[3]}
}

// usmKeys returns the device's localized keys, computing them on first use.
func (d *Device) usmKeys() *usmKeys {
	if k := d.keys.Load(); k != nil {
		return k
	}
	u := d.p.usm
	eid := d.engineID()
	k := &usmKeys{user: u, auth: localize(u.newHash, u.authKu, eid[:])}
	if u.privKu != nil {
		b, err := aes.NewCipher(localize(u.newHash, u.privKu, eid[:])[:16])
		if err != nil {
			panic(err) // unreachable: the key is 16 bytes
		}
		k.priv = b
	}
	d.keys.Store(k)
	return k
}

// macer computes HMACs, reusing the HMAC state while the keys stay the
// same (a worker answering one device's walk): hmac.New allocates.
type macer struct {
	keys *usmKeys
	h    gohash.Hash
	sum  []byte
}

// mac computes the truncated HMAC of msg with k.
func (m *macer) mac(k *usmKeys, msg []byte) []byte {
	if m.keys != k {
		m.keys, m.h = k, hmac.New(k.user.newHash, k.auth)
	} else {
		m.h.Reset()
	}
	m.h.Write(msg)
	m.sum = m.h.Sum(m.sum[:0])
	return m.sum[:k.user.macLen]
}

// checkMAC verifies the digest of a request: msg is a copy of the whole
// message, off the offset of the authentication parameters in it.
func (m *macer) checkMAC(k *usmKeys, msg []byte, off int, digest []byte) bool {
	if len(digest) != k.user.macLen {
		return false
	}
	clear(msg[off : off+len(digest)])
	return subtle.ConstantTimeCompare(m.mac(k, msg), digest) == 1
}

// cfb128 runs AES in CFB-128 mode over buf in place (RFC 3826 §3.1.3). The
// IV is engine boots, engine time and the 64-bit salt. Written out here
// because crypto/cipher deprecates its CFB mode.
//
// iv and ks are scratch blocks owned by the caller: arrays on the stack
// would escape through the cipher.Block interface and cost two allocations.
func cfb128(b cipher.Block, boots, engineTime uint32, salt []byte, buf []byte, decrypt bool, iv, ks *[aes.BlockSize]byte) {
	binary.BigEndian.PutUint32(iv[0:], boots)
	binary.BigEndian.PutUint32(iv[4:], engineTime)
	copy(iv[8:], salt)
	for len(buf) > 0 {
		b.Encrypt(ks[:], iv[:])
		n := min(len(buf), aes.BlockSize)
		if decrypt {
			copy(iv[:], buf[:n]) // the next IV is this ciphertext block
			subtle.XORBytes(buf[:n], buf[:n], ks[:n])
		} else {
			subtle.XORBytes(buf[:n], buf[:n], ks[:n])
			copy(iv[:], buf[:n])
		}
		buf = buf[n:]
	}
}
