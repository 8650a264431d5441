package snmpsim

// The command responder: Get, GetNext and GetBulk over a device's layout
// (RFC 3416 §4.2). Responses are encoded straight into the worker's buffer;
// limit is the most bytes the whole message may take, and once a varbind is
// closed len(dst)-msgStart is the exact size of the message so far (the
// enclosing sequences have fixed-size headers, see beginSeq).

// maxBulkRepetitions bounds max-repetitions; the size limit usually stops a
// GetBulk long before.
const maxBulkRepetitions = 1 << 16

// appendResponsePDU appends the Response PDU that answers r. ok is false
// when not even an empty error response fits in limit (the request is then
// dropped, RFC 3416 §4.2.1).
func (w *worker) appendResponsePDU(dst []byte, v *view, r *request, msgStart, limit int) ([]byte, bool) {
	pduStart := len(dst)
	dst, pm := beginSeq(dst)
	dst = appendInt(dst, tagInteger, r.requestID)
	switch PDUType(r.pduType) {
	case PDUGet, PDUGetNext:
		dst = append(dst, tagInteger, 1, errNoError, tagInteger, 1, 0)
		var vm int
		dst, vm = beginSeq(dst)
		next := PDUType(r.pduType) == PDUGetNext
		for i := range r.vbs {
			dst = appendGetVarbind(dst, v, r.oid(i), next)
			if len(dst)-msgStart > limit {
				return appendErrorPDU(dst[:pduStart], r, errTooBig, 0, nil, msgStart, limit)
			}
		}
		dst = endSeq(dst, vm, tagSequence)
	case PDUGetBulk:
		dst = append(dst, tagInteger, 1, errNoError, tagInteger, 1, 0)
		var vm int
		dst, vm = beginSeq(dst)
		dst = w.appendBulk(dst, v, r, msgStart, limit)
		dst = endSeq(dst, vm, tagSequence)
	default:
		// A read-only agent refuses Set with noAccess on the first
		// varbind, echoing the request's varbinds.
		return appendErrorPDU(dst[:pduStart], r, errNoAccess, 1, r.rawVarbinds, msgStart, limit)
	}
	return endSeq(dst, pm, byte(PDUResponse)), true
}

// appendErrorPDU appends a Response PDU with an error status and the given
// encoded varbinds; when they do not fit it falls back to tooBig with none.
func appendErrorPDU(dst []byte, r *request, status, index int64, varbinds []byte, msgStart, limit int) ([]byte, bool) {
	start := len(dst)
	for {
		out, pm := beginSeq(dst[:start])
		out = appendInt(out, tagInteger, r.requestID)
		out = appendInt(out, tagInteger, status)
		out = appendInt(out, tagInteger, index)
		out = appendBytes(out, tagSequence, varbinds)
		out = endSeq(out, pm, byte(PDUResponse))
		switch {
		case len(out)-msgStart <= limit:
			return out, true
		case status == errTooBig:
			return out[:start], false
		}
		status, index, varbinds = errTooBig, 0, nil
	}
}

// appendGetVarbind appends the answer to one Get (next false) or GetNext
// varbind.
func appendGetVarbind(dst []byte, v *view, oid []uint32, next bool) []byte {
	es := v.lay.entries
	if next {
		if i := v.lay.next(oid); i < len(es) {
			return appendEntryVarbind(dst, v, &es[i])
		}
		return appendExceptionVarbind(dst, oid, tagEndOfMibView)
	}
	if i, exact := v.lay.search(oid); exact {
		return appendEntryVarbind(dst, v, &es[i])
	}
	return appendExceptionVarbind(dst, oid, v.lay.missing(oid))
}

// appendEntryVarbind appends the varbind of an instance with its value.
func appendEntryVarbind(dst []byte, v *view, e *entry) []byte {
	dst, m := beginTLV(dst)
	dst = append(dst, e.ber...)
	dst = v.appendValue(dst, e)
	return endTLV(dst, m, tagSequence)
}

// appendExceptionVarbind appends oid with noSuchObject, noSuchInstance or
// endOfMibView.
func appendExceptionVarbind(dst []byte, oid []uint32, exception byte) []byte {
	dst, m := beginTLV(dst)
	dst = appendOIDTLV(dst, oid)
	dst = append(dst, exception, 0)
	return endTLV(dst, m, tagSequence)
}

// appendBulk appends the varbinds of a GetBulk (RFC 3416 §4.2.3): one
// GetNext for each of the first N varbinds, then M rounds of GetNext over
// the R others, each round starting where the last one stopped. The
// response is cut at the last varbind that fits, and stops after a round
// where every repeater reached endOfMibView.
func (w *worker) appendBulk(dst []byte, v *view, r *request, msgStart, limit int) []byte {
	n := len(r.vbs)
	nonRep := int(min(max(r.nonRepeaters, 0), int64(n)))
	maxRep := int(min(max(r.maxRepeats, 0), maxBulkRepetitions))
	for i := 0; i < nonRep; i++ {
		mark := len(dst)
		dst = appendGetVarbind(dst, v, r.oid(i), true)
		if len(dst)-msgStart > limit {
			return dst[:mark]
		}
	}
	rep := n - nonRep
	if rep == 0 || maxRep == 0 {
		return dst
	}
	es := v.lay.entries
	w.pos, w.first = w.pos[:0], w.first[:0]
	for i := nonRep; i < n; i++ {
		p := v.lay.next(r.oid(i))
		w.pos = append(w.pos, p)
		w.first = append(w.first, p)
	}
	for round := 0; round < maxRep; round++ {
		allEnd := true
		for j := 0; j < rep; j++ {
			mark := len(dst)
			if p := w.pos[j]; p < len(es) {
				dst = appendEntryVarbind(dst, v, &es[p])
				w.pos[j] = p + 1
				allEnd = false
			} else {
				// The name of an endOfMibView varbind is the last name
				// this repeater returned, or the requested one.
				var m int
				dst, m = beginTLV(dst)
				if w.first[j] < len(es) {
					dst = append(dst, es[len(es)-1].ber...)
				} else {
					dst = appendOIDTLV(dst, r.oid(nonRep+j))
				}
				dst = append(dst, tagEndOfMibView, 0)
				dst = endTLV(dst, m, tagSequence)
				if len(dst)-msgStart > limit {
					return dst[:mark]
				}
				continue
			}
			if len(dst)-msgStart > limit {
				return dst[:mark]
			}
		}
		if allEnd {
			break
		}
	}
	return dst
}
