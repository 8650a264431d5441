package snmpsim

import (
	"errors"
	"fmt"
)

// PDUType is the type of an SNMP PDU, as in the request log.
type PDUType uint8

// PDU types (their BER tags).
const (
	PDUGet      PDUType = 0xa0
	PDUGetNext  PDUType = 0xa1
	PDUResponse PDUType = 0xa2
	PDUSet      PDUType = 0xa3
	PDUGetBulk  PDUType = 0xa5
	PDUInform   PDUType = 0xa6
	PDUTrap     PDUType = 0xa7
	PDUReport   PDUType = 0xa8
)

func (t PDUType) String() string {
	switch t {
	case 0:
		return "unknown"
	case PDUGet:
		return "get"
	case PDUGetNext:
		return "getnext"
	case PDUResponse:
		return "response"
	case PDUSet:
		return "set"
	case PDUGetBulk:
		return "getbulk"
	case PDUInform:
		return "inform"
	case PDUTrap:
		return "trap"
	case PDUReport:
		return "report"
	}
	return fmt.Sprintf("PDUType(%#x)", uint8(t))
}

// maxVarbinds bounds the varbinds of one request; a 64 KiB datagram could
// otherwise carry thousands of tiny ones.
const maxVarbinds = 2048

var (
	errVersion       = errors.New("unsupported SNMP version")
	errSecurityModel = errors.New("unsupported SNMPv3 security model")
)

// vbRange locates one request OID in request.arena.
type vbRange struct{ start, end int32 }

// request is a decoded request. A worker reuses one for every datagram, so
// decoding allocates nothing once the slices have grown.
type request struct {
	version   int64 // 1 (v2c) or 3
	community []byte

	// SNMPv3 header and USM security parameters.
	msgID, msgMaxSize        int64
	msgFlags                 byte
	engineID, user           []byte
	authParams, privParams   []byte
	engineBoots, engineTime  int64
	authOff                  int    // offset of authParams' content in the message
	msgData                  []byte // the scopedPDU's content, or its ciphertext
	encrypted                bool
	ctxEngineID, ctxName     []byte
	havePDU                  bool // false until the (decrypted) PDU is decoded
	pduType                  byte
	requestID                int64
	nonRepeaters, maxRepeats int64 // error-status and error-index outside GetBulk
	rawVarbinds              []byte
	vbs                      []vbRange
	arena                    []uint32
}

func (r *request) reset() {
	*r = request{vbs: r.vbs[:0], arena: r.arena[:0]}
}

// oid returns the OID of varbind i.
func (r *request) oid(i int) []uint32 {
	vb := r.vbs[i]
	return r.arena[vb.start:vb.end:vb.end]
}

// decodeMessage decodes an SNMPv2c message, or the clear parts of an SNMPv3
// one (the scopedPDU too when it is not encrypted). Bytes after the message
// are ignored.
func (r *request) decodeMessage(pkt []byte) error {
	r.reset()
	msg, _, err := expectTLV(pkt, tagSequence)
	if err != nil {
		return err
	}
	r.version, msg, err = readInt(msg)
	if err != nil {
		return err
	}
	switch r.version {
	case 1:
		if r.community, msg, err = expectTLV(msg, tagOctetString); err != nil {
			return err
		}
		return r.decodePDU(msg)
	case 3:
		return r.decodeV3(pkt, msg)
	}
	return errVersion
}

// decodeV3 decodes the SNMPv3 header (RFC 3412 §6) and USM parameters
// (RFC 3414 §2.4) that follow msgVersion.
func (r *request) decodeV3(pkt, msg []byte) error {
	gd, msg, err := expectTLV(msg, tagSequence)
	if err != nil {
		return err
	}
	if r.msgID, gd, err = readInt(gd); err != nil {
		return err
	}
	if r.msgMaxSize, gd, err = readInt(gd); err != nil {
		return err
	}
	flags, gd, err := expectTLV(gd, tagOctetString)
	if err != nil {
		return err
	}
	model, _, err := readInt(gd)
	if err != nil {
		return err
	}
	if len(flags) != 1 || r.msgID < 0 || r.msgID > 1<<31-1 || r.msgMaxSize < 484 || r.msgMaxSize > 1<<31-1 {
		return errBER
	}
	r.msgFlags = flags[0]
	if r.msgFlags&(flagAuth|flagPriv) == flagPriv {
		return errBER // privacy without authentication is invalid (RFC 3412 §7.2 f)
	}
	if model != 3 {
		return errSecurityModel
	}
	sp, msg, err := expectTLV(msg, tagOctetString)
	if err != nil {
		return err
	}
	usm, _, err := expectTLV(sp, tagSequence)
	if err != nil {
		return err
	}
	if r.engineID, usm, err = expectTLV(usm, tagOctetString); err != nil {
		return err
	}
	if r.engineBoots, usm, err = readInt(usm); err != nil {
		return err
	}
	if r.engineTime, usm, err = readInt(usm); err != nil {
		return err
	}
	if r.user, usm, err = expectTLV(usm, tagOctetString); err != nil {
		return err
	}
	if r.authParams, usm, err = expectTLV(usm, tagOctetString); err != nil {
		return err
	}
	// Sub-slices share pkt's array: the difference of capacities is the offset.
	r.authOff = cap(pkt) - cap(r.authParams)
	if r.privParams, _, err = expectTLV(usm, tagOctetString); err != nil {
		return err
	}
	if len(r.engineID) > 32 || len(r.user) > 32 {
		return errBER
	}
	tag, data, _, err := readTLV(msg)
	if err != nil {
		return err
	}
	switch {
	case tag == tagSequence && r.msgFlags&flagPriv == 0:
		r.msgData = data
		return r.decodeScoped(data)
	case tag == tagOctetString && r.msgFlags&flagPriv != 0:
		r.msgData, r.encrypted = data, true
		return nil
	}
	return errBER
}

// decodeScoped decodes the content of a plaintext scopedPDU.
func (r *request) decodeScoped(b []byte) error {
	var err error
	if r.ctxEngineID, b, err = expectTLV(b, tagOctetString); err != nil {
		return err
	}
	if r.ctxName, b, err = expectTLV(b, tagOctetString); err != nil {
		return err
	}
	return r.decodePDU(b)
}

// decodePDU decodes a PDU and its varbinds' OIDs (values are skipped: a
// read-only agent has no use for them).
func (r *request) decodePDU(b []byte) error {
	tag, pdu, _, err := readTLV(b)
	if err != nil {
		return err
	}
	if tag < byte(PDUGet) || tag > byte(PDUReport) {
		return errBER
	}
	r.pduType = tag
	if r.requestID, pdu, err = readInt(pdu); err != nil {
		return err
	}
	if r.requestID < -1<<31 || r.requestID > 1<<31-1 {
		return errBER
	}
	if r.nonRepeaters, pdu, err = readInt(pdu); err != nil {
		return err
	}
	if r.maxRepeats, pdu, err = readInt(pdu); err != nil {
		return err
	}
	vbl, _, err := expectTLV(pdu, tagSequence)
	if err != nil {
		return err
	}
	r.rawVarbinds = vbl
	for len(vbl) > 0 {
		var vb, oid []byte
		if vb, vbl, err = expectTLV(vbl, tagSequence); err != nil {
			return err
		}
		if oid, vb, err = expectTLV(vb, tagOID); err != nil {
			return err
		}
		if _, _, _, err = readTLV(vb); err != nil {
			return err
		}
		if len(r.vbs) == maxVarbinds {
			return errBER
		}
		start := len(r.arena)
		if r.arena, err = decodeOID(oid, r.arena); err != nil {
			return err
		}
		r.vbs = append(r.vbs, vbRange{int32(start), int32(len(r.arena))})
	}
	r.havePDU = true
	return nil
}
