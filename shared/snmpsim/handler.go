package snmpsim

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"
)

// worker holds the buffers of one serving goroutine: requests are decoded
// and answered in them, so the steady state allocates nothing.
type worker struct {
	s     *Simulator
	req   request
	view  view
	tx    []byte
	plain []byte // SNMPv3: the message copy whose MAC is checked, then the decrypted scopedPDU
	pos   []int  // GetBulk: next entry of each repeater
	first []int  // GetBulk: first entry of each repeater
	salt  uint64 // SNMPv3: AES salt of the next encrypted response
	macer macer
	iv    [16]byte // SNMPv3: AES-CFB scratch
	ks    [16]byte
}

func newWorker(s *Simulator, id int) *worker {
	return &worker{
		s:  s,
		tx: make([]byte, 0, 2*maxResponseSize+1024),
		// Salts must not repeat under one key: each worker counts from its
		// own random-looking start.
		salt: hash(s.cfg.Seed, uint64(id), uint64(time.Now().UnixNano())),
	}
}

// handle answers one datagram received for dst from src. It returns the
// device, the response (nil for none; valid until the next call) and how
// long to hold it back.
func (w *worker) handle(pkt []byte, src netip.AddrPort, dst netip.Addr) (*Device, []byte, time.Duration) {
	s := w.s
	d := s.deviceFor(dst)
	if d == nil {
		s.stats.unknown.Add(1)
		return nil, nil, 0
	}
	now := s.clock()
	d.noteRequest(now.UnixMilli(), src)
	s.stats.requests.Add(1)
	rec := Request{Time: now, Device: d.index, Addr: dst, Source: src}
	b := d.behaviour()
	resp := w.serve(d, b, pkt, now, &rec)
	switch rec.Outcome {
	case OutcomeDead, OutcomeDropped:
		d.dropped.Add(1)
		s.stats.dropped.Add(1)
	case OutcomeBadCommunity, OutcomeAuthFailed:
		d.authFailures.Add(1)
		s.stats.authFailures.Add(1)
	case OutcomeMalformed:
		s.stats.malformed.Add(1)
	}
	s.reqLog.add(rec)
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(rec)
	}
	if resp == nil {
		return d, nil, 0
	}
	if rec.Outcome == OutcomeReport || (rec.Outcome == OutcomeAuthFailed && w.req.version == 3) {
		s.stats.reports.Add(1)
	}
	return d, malform(resp, b.malformed), b.delay
}

// serve decodes and answers, setting rec's fields on the way.
func (w *worker) serve(d *Device, b behaviour, pkt []byte, now time.Time, rec *Request) []byte {
	if b.dead {
		rec.Outcome = OutcomeDead
		return nil
	}
	r := &w.req
	err := r.decodeMessage(pkt)
	if r.version == 1 || r.version == 3 {
		rec.Version = int(r.version)
		if r.version == 1 {
			rec.Version = 2
		}
	}
	if err != nil {
		rec.Outcome = OutcomeMalformed
		return nil
	}
	if r.havePDU {
		rec.PDU, rec.RequestID = PDUType(r.pduType), int32(r.requestID)
	}
	// Drops stand for a lossy network: they hit every kind of request,
	// SNMPv3 discovery included, before the agent looks at it.
	if w.drop(d, b) {
		rec.Outcome = OutcomeDropped
		return nil
	}
	if r.version == 3 {
		return w.serveV3(d, pkt, now, rec)
	}
	if string(r.community) != d.p.Community {
		rec.Outcome = OutcomeBadCommunity
		return nil
	}
	if !isRequest(r.pduType) {
		rec.Outcome = OutcomeMalformed
		return nil
	}
	w.view.reset(w.s, d, now)
	dst := w.tx[:0]
	dst, m := beginSeq(dst)
	dst = append(dst, tagInteger, 1, 1)
	dst = appendBytes(dst, tagOctetString, r.community)
	dst, ok := w.appendResponsePDU(dst, &w.view, r, 0, d.p.MaxResponseSize)
	if !ok {
		rec.Outcome = OutcomeDropped
		return nil
	}
	dst = endSeq(dst, m, tagSequence)
	w.tx = dst[:0]
	return dst
}

// isRequest reports whether a PDU type asks for a response.
func isRequest(t byte) bool {
	switch PDUType(t) {
	case PDUGet, PDUGetNext, PDUGetBulk, PDUSet:
		return true
	}
	return false
}

// drop decides whether the device's drop rate swallows this request:
// deterministic in the seed and the device's request count.
func (w *worker) drop(d *Device, b behaviour) bool {
	return b.dropRate > 0 && unit(hash(d.seed(), saltDrop, d.requests.Load())) < b.dropRate
}

// serveV3 runs the USM checks of RFC 3414 §3.2 in their order, answering
// with a Report where the RFC says so (and the request is reportable), and
// otherwise answers the request with the same security level.
func (w *worker) serveV3(d *Device, pkt []byte, now time.Time, rec *Request) []byte {
	r := &w.req
	nowMs := now.UnixMilli()
	bootMs, boots := d.boot(nowMs)
	etime := uint32(min((nowMs-bootMs)/1000, 1<<31-1))
	eid := d.engineID()

	// Engine discovery: an unknown (usually empty) engine ID.
	if !bytes.Equal(r.engineID, eid[:]) {
		rec.Outcome = OutcomeReport
		return w.report(d, usmUnknownEngineIDs, 0, nil, boots, etime)
	}
	u := d.p.usm
	if u == nil || string(r.user) != u.name {
		rec.Outcome = OutcomeAuthFailed
		return w.report(d, usmUnknownUserNames, 0, nil, boots, etime)
	}
	if r.msgFlags&(flagAuth|flagPriv) != u.level {
		rec.Outcome = OutcomeAuthFailed
		return w.report(d, usmUnsupportedSecLevels, 0, nil, boots, etime)
	}
	keys := d.usmKeys()
	msgLen := len(pkt)
	if _, _, rest, err := readTLV(pkt); err == nil {
		msgLen -= len(rest)
	}
	w.plain = append(w.plain[:0], pkt[:msgLen]...)
	if !w.macer.checkMAC(keys, w.plain, r.authOff, r.authParams) {
		rec.Outcome = OutcomeAuthFailed
		return w.report(d, usmWrongDigests, 0, nil, boots, etime)
	}
	if boots >= 1<<31-1 || r.engineBoots != int64(boots) || r.engineTime < int64(etime)-timeWindow || r.engineTime > int64(etime)+timeWindow {
		// Authenticated, so that the manager can trust the new time.
		rec.Outcome = OutcomeReport
		return w.report(d, usmNotInTimeWindows, flagAuth, keys, boots, etime)
	}
	if r.encrypted {
		if len(r.privParams) != 8 {
			rec.Outcome = OutcomeAuthFailed
			return w.report(d, usmDecryptionErrors, 0, nil, boots, etime)
		}
		w.plain = append(w.plain[:0], r.msgData...)
		cfb128(keys.priv, uint32(r.engineBoots), uint32(r.engineTime), r.privParams, w.plain, true, &w.iv, &w.ks)
		scoped, _, err := expectTLV(w.plain, tagSequence)
		if err == nil {
			err = r.decodeScoped(scoped)
		}
		if err != nil {
			// A wrong privacy key decrypts to garbage: real agents count
			// a parse error and stay silent.
			rec.Outcome = OutcomeAuthFailed
			return nil
		}
		rec.PDU, rec.RequestID = PDUType(r.pduType), int32(r.requestID)
	}
	if !isRequest(r.pduType) {
		rec.Outcome = OutcomeMalformed
		return nil
	}
	w.view.reset(w.s, d, now)
	limit := int(min(int64(d.p.MaxResponseSize), r.msgMaxSize))
	resp, ok := w.appendV3(d, u.level, keys, boots, etime, func(dst []byte) ([]byte, bool) {
		return w.appendResponsePDU(dst, &w.view, r, 0, limit)
	})
	if !ok {
		rec.Outcome = OutcomeDropped
		return nil
	}
	return resp
}

// report builds a Report PDU carrying usmStats counter stat, at
// noAuthNoPriv or (time window) authNoPriv, if the request is reportable.
func (w *worker) report(d *Device, stat int, level byte, keys *usmKeys, boots, etime uint32) []byte {
	r := &w.req
	n := w.s.usmStats[stat].Add(1)
	if r.msgFlags&flagReportable == 0 {
		return nil
	}
	if !r.havePDU {
		// The request ID is inside an encrypted PDU we could not open.
		r.requestID, r.ctxName = 0, nil
	}
	resp, _ := w.appendV3(d, level, keys, boots, etime, func(dst []byte) ([]byte, bool) {
		dst, pm := beginSeq(dst)
		dst = appendInt(dst, tagInteger, r.requestID)
		dst = append(dst, tagInteger, 1, 0, tagInteger, 1, 0)
		dst, vl := beginSeq(dst)
		dst, vb := beginTLV(dst)
		dst = append(dst, usmStatOID(stat)...)
		dst = appendUint(dst, tagCounter32, uint64(n))
		dst = endTLV(dst, vb, tagSequence)
		dst = endSeq(dst, vl, tagSequence)
		return endSeq(dst, pm, byte(PDUReport)), true
	})
	return resp
}

// appendV3 builds an SNMPv3 message around the PDU that pdu appends:
// header, USM parameters, scopedPDU (encrypted at authPriv), then the MAC.
func (w *worker) appendV3(d *Device, level byte, keys *usmKeys, boots, etime uint32, pdu func([]byte) ([]byte, bool)) ([]byte, bool) {
	r := &w.req
	eid := d.engineID()
	dst, m := beginSeq(w.tx[:0])
	dst = append(dst, tagInteger, 1, 3)
	dst, gm := beginTLV(dst)
	dst = appendInt(dst, tagInteger, r.msgID)
	dst = appendInt(dst, tagInteger, defaultMaxMsgSize)
	dst = append(dst, tagOctetString, 1, level)
	dst = append(dst, tagInteger, 1, 3)
	dst = endTLV(dst, gm, tagSequence)
	dst, spm := beginTLV(dst)
	dst, um := beginTLV(dst)
	dst = appendBytes(dst, tagOctetString, eid[:])
	dst = appendInt(dst, tagInteger, int64(boots))
	dst = appendInt(dst, tagInteger, int64(etime))
	dst = appendBytes(dst, tagOctetString, r.user)
	if level&flagAuth != 0 {
		dst = appendHeader(dst, tagOctetString, keys.user.macLen)
		for i := 0; i < keys.user.macLen; i++ {
			dst = append(dst, 0)
		}
	} else {
		dst = append(dst, tagOctetString, 0)
	}
	var salt [8]byte
	if level&flagPriv != 0 {
		w.salt++
		binary.BigEndian.PutUint64(salt[:], w.salt)
		dst = appendBytes(dst, tagOctetString, salt[:])
	} else {
		dst = append(dst, tagOctetString, 0)
	}
	dst = endTLV(dst, um, tagSequence)
	dst = endTLV(dst, spm, tagOctetString)
	var em int
	if level&flagPriv != 0 {
		dst, em = beginSeq(dst)
	}
	scopedStart := len(dst)
	dst, sm := beginSeq(dst)
	dst = appendBytes(dst, tagOctetString, eid[:])
	dst = appendBytes(dst, tagOctetString, r.ctxName)
	dst, ok := pdu(dst)
	if !ok {
		return nil, false
	}
	dst = endSeq(dst, sm, tagSequence)
	if level&flagPriv != 0 {
		cfb128(keys.priv, boots, etime, salt[:], dst[scopedStart:], false, &w.iv, &w.ks)
		dst = endSeq(dst, em, tagOctetString)
	}
	dst = endSeq(dst, m, tagSequence)
	if level&flagAuth != 0 {
		if off, ok := authParamsOffset(dst); ok {
			copy(dst[off:off+keys.user.macLen], w.macer.mac(keys, dst))
		}
	}
	w.tx = dst[:0]
	return dst, true
}

// authParamsOffset finds where the MAC goes in an SNMPv3 message: the
// content of msgAuthenticationParameters.
func authParamsOffset(msg []byte) (int, bool) {
	body, _, err := expectTLV(msg, tagSequence)
	if err != nil {
		return 0, false
	}
	if _, body, err = readInt(body); err != nil {
		return 0, false
	}
	if _, body, err = expectTLV(body, tagSequence); err != nil {
		return 0, false
	}
	sp, _, err := expectTLV(body, tagOctetString)
	if err != nil {
		return 0, false
	}
	usm, _, err := expectTLV(sp, tagSequence)
	if err != nil {
		return 0, false
	}
	for range 4 { // engine ID, boots, time, user
		if _, _, usm, err = readTLV(usm); err != nil {
			return 0, false
		}
	}
	auth, _, err := expectTLV(usm, tagOctetString)
	if err != nil {
		return 0, false
	}
	return cap(msg) - cap(auth), true
}

// malform breaks a response on purpose.
func malform(resp []byte, m Malformation) []byte {
	switch m {
	case MalformTruncated:
		return resp[:len(resp)/2]
	case MalformCorrupt:
		// Claim more content than the datagram holds.
		_, content, _, err := readTLV(resp)
		if err != nil {
			return resp
		}
		out := appendHeader(make([]byte, 0, len(resp)+8), resp[0], len(content)+16)
		return append(out, content...)
	}
	return resp
}
