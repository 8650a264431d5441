package wire

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire/internal/wirepb"
)

// The Batch message is read here with protowire rather than with
// proto.Unmarshal into the wirepb types and a conversion: at the
// collector's rates, the reflection of proto.Unmarshal and its garbage (a
// heap object for every message, string and optional rate, then the copy
// into the model types) were half of the collector's CPU. decodeMessage
// must accept exactly what proto.Unmarshal followed by the checks of the
// former conversion (fromProto, now in decode_test.go) accepted, and
// return the same batch: TestDecodeDifferential and FuzzDecodeMessage
// compare the two. In particular, as proto.Unmarshal does, it skips
// unknown fields, treats a known field of an unexpected wire type as an
// unknown one, keeps the last of a repeated scalar, merges a repeated
// embedded message, and refuses invalid UTF-8 in strings.

// Wire types of the fields of wire.proto, for the field switches, whose
// cases are tags: number<<3 | wire type.
const (
	wVarint  = uint64(protowire.VarintType)
	wFixed64 = uint64(protowire.Fixed64Type)
	wBytes   = uint64(protowire.BytesType)
)

// decodeMessage decodes raw, the decompressed body, as Decode's errors
// say: ErrMalformed with where the message could not be read, or which
// version it has, or what the collector refuses in it; ErrTooLarge when
// it holds more than maxRows rows (before any is allocated).
func decodeMessage(raw []byte, maxRows int) (*Batch, error) {
	devices, samples, events := count(raw)
	if rows := devices + samples + events; rows > maxRows {
		return nil, fmt.Errorf("%w: %w: %d (device samples, interface samples, events), the limit is %d: send smaller batches", ErrTooLarge, ErrTooManyRows, rows, maxRows)
	}
	d := decoder{
		b: &Batch{},
		// Most of a batch's strings are repeats: sized for a few devices'
		// names and labels, it grows for the rest.
		strs: make(map[string]string, 64),
	}
	if devices > 0 {
		d.b.Devices = make([]model.DeviceSample, 0, devices)
	}
	if samples > 0 {
		d.b.Samples = make([]model.Sample, 0, samples)
	}
	if events > 0 {
		d.b.Events = make([]model.Event, 0, events)
	}
	d.samplesLeft = samples
	if err := d.batch(raw); err != nil {
		return nil, fmt.Errorf("%w: not a protobuf unet.wire.v1.Batch: %v", ErrMalformed, err)
	}
	if d.version != Version {
		return nil, fmt.Errorf("%w: format version %d, this collector reads version %d only (upgrade the collector before the agents)",
			ErrMalformed, d.version, Version)
	}
	if err := d.refusal(); err != nil {
		return nil, fmt.Errorf("%w: batch %d of agent %q: %v", ErrMalformed, d.b.Seq, d.b.Agent, err)
	}
	return d.b, nil
}

// decoder reads one Batch message into b. Where proto.Unmarshal and the
// conversion allocated per field, it allocates per batch:
//   - Devices, Samples and Events at once, at the size count found;
//   - the samples' rates (each its own float64 for proto.Unmarshal) in
//     an arena, one slice for the whole batch, sized at the first rate
//     for 8 rates of each sample left. The cost: a rate kept keeps its
//     batch's arena, 64 bytes a sample (as much as a sample's 8 rate
//     pointers take).
//   - each distinct string once: a batch repeats its node names, its
//     interface names and types, sysDescr… in every device or sample
//     (strs). They are copies, not views of raw: the collector keeps
//     some for long (the latest state), and must not keep raw with them.
type decoder struct {
	b       *Batch
	version uint32
	strs    map[string]string
	// last are the strings of the sample before, the first strings to
	// compare with (sampleStr).
	last struct{ ifName, descr, alias, typ string }
	// rates is the arena of the rates: pointers into it are handed out,
	// so it is never grown; a full one is replaced by a new one.
	rates []float64
	// samplesLeft is the number of samples not read yet, the current one
	// included: a new arena is sized for all of their rates.
	samplesLeft int
	// nums are the fields of the current group's samples that are
	// checked once the group is read, when its node is known.
	nums []sampleNums
	// The first refusal (as fromProto worded it) in the devices, the
	// interface groups and the events. They are reported once the whole
	// message is read, in fromProto's order, after the syntax errors and
	// the version.
	deviceErr, groupErr, eventErr error
	groups                        int
}

// sampleNums are the fields of an interface sample kept as sent until
// they are checked.
type sampleNums struct {
	ifIndex     int64
	admin, oper int32
}

// refusal is what fromProto would have refused first in the batch.
func (d *decoder) refusal() error {
	switch {
	case d.b.Agent == "":
		return errors.New("no agent name")
	case d.b.Seq == 0:
		return errors.New("no sequence number (they start at 1)")
	case d.deviceErr != nil:
		return d.deviceErr
	case d.groupErr != nil:
		return d.groupErr
	}
	return d.eventErr
}

// batch reads the fields of a Batch.
func (d *decoder) batch(b []byte) error {
	var created int64
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return fieldError(b, msgBatch)
		}
		var err error
		b = b[n:]
		switch tag {
		case 1<<3 | wVarint:
			d.version = uint32(u)
		case 2<<3 | wBytes:
			d.b.Agent, err = d.str(bs, msgBatch, tag)
		case 3<<3 | wVarint:
			d.b.Seq = u
		case 4<<3 | wVarint:
			created = int64(u)
		case 5<<3 | wBytes:
			if err = d.device(bs); err != nil {
				err = fmt.Errorf("device sample %d: %w", len(d.b.Devices)-1, err)
			}
		case 6<<3 | wBytes:
			if err = d.group(bs); err != nil {
				err = fmt.Errorf("interface group %d: %w", d.groups-1, err)
			}
		case 7<<3 | wBytes:
			if err = d.event(bs); err != nil {
				err = fmt.Errorf("event %d: %w", len(d.b.Events)-1, err)
			}
		}
		if err != nil {
			return err
		}
	}
	d.b.Created = fromUnixNano(created)
	return nil
}

// device reads a DeviceSample and appends it.
func (d *decoder) device(b []byte) error {
	i := len(d.b.Devices)
	d.b.Devices = append(d.b.Devices, model.DeviceSample{})
	s := &d.b.Devices[i]
	var t, ifaces int64
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return fieldError(b, msgDevice)
		}
		var err error
		b = b[n:]
		if tag>>3 == 8 && s.Extra == nil {
			// proto.Unmarshal makes the map of extra before it looks at
			// the wire type: an extra field of another wire type (skipped
			// as unknown) leaves an empty map, not nil.
			s.Extra = make(map[string]float64)
		}
		switch tag {
		case 1<<3 | wBytes:
			s.Node, err = d.str(bs, msgDevice, tag)
		case 2<<3 | wVarint:
			t = int64(u)
		case 3<<3 | wVarint:
			s.Reachable = u != 0
		case 4<<3 | wBytes:
			s.Error, err = d.str(bs, msgDevice, tag)
		case 5<<3 | wVarint:
			s.UptimeSeconds = int64(u)
		case 6<<3 | wFixed64:
			s.PollDurationSeconds = math.Float64frombits(u)
		case 7<<3 | wVarint:
			ifaces = int64(u)
		case 8<<3 | wBytes:
			var k string
			var v float64
			if k, v, err = d.extra(bs); err != nil {
				err = fmt.Errorf("extra: %w", err)
				break
			}
			s.Extra[k] = v
		case 9<<3 | wBytes:
			s.SysName, err = d.str(bs, msgDevice, tag)
		case 10<<3 | wBytes:
			s.SysDescr, err = d.str(bs, msgDevice, tag)
		case 11<<3 | wBytes:
			s.SysObjectID, err = d.str(bs, msgDevice, tag)
		case 12<<3 | wBytes:
			var v string
			v, err = d.str(bs, msgDevice, tag)
			// A vendor this collector does not know (a newer agent's)
			// is kept as sent: it is a label, not a choice.
			s.Vendor = model.Vendor(v)
		}
		if err != nil {
			return err
		}
	}
	s.Time = fromUnixNano(t)
	nIfaces, err := toInt(ifaces, "interface count")
	s.Interfaces = nIfaces
	if d.deviceErr == nil {
		if s.Node == "" {
			d.deviceErr = fmt.Errorf("device sample %d has no node", i)
		} else if err != nil {
			d.deviceErr = fmt.Errorf("device sample of %q: %w", s.Node, err)
		}
	}
	return nil
}

// extra reads an entry of DeviceSample.extra (a map<string, double>): a
// missing key or value is "" or 0.
func (d *decoder) extra(b []byte) (key string, val float64, err error) {
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return "", 0, fieldError(b, msgExtra)
		}
		b = b[n:]
		switch tag {
		case 1<<3 | wBytes:
			if key, err = d.str(bs, msgExtra, tag); err != nil {
				return "", 0, err
			}
		case 2<<3 | wFixed64:
			val = math.Float64frombits(u)
		}
	}
	return key, val, nil
}

// group reads an InterfaceGroup and appends its samples, which share the
// group's node and time (strings and times are values: sharing costs
// nothing, and a batch holds thousands of samples of a few nodes).
func (d *decoder) group(b []byte) error {
	gi := d.groups
	d.groups++
	start := len(d.b.Samples)
	d.nums = d.nums[:0]
	var node string
	var t int64
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return fieldError(b, msgGroup)
		}
		var err error
		b = b[n:]
		switch tag {
		case 1<<3 | wBytes:
			node, err = d.str(bs, msgGroup, tag)
		case 2<<3 | wVarint:
			t = int64(u)
		case 3<<3 | wBytes:
			d.nums = append(d.nums, sampleNums{})
			if err = d.sample(bs, d.nextSample(), &d.nums[len(d.nums)-1]); err != nil {
				err = fmt.Errorf("sample %d: %w", len(d.nums)-1, err)
			}
			d.samplesLeft--
		}
		if err != nil {
			return err
		}
	}

	// The group's node and time, and the checks that name the node, now
	// that the whole group is read: its fields may come in any order.
	if d.groupErr == nil && node == "" {
		d.groupErr = fmt.Errorf("interface group %d has no node", gi)
	}
	tm := fromUnixNano(t)
	samples := d.b.Samples[start:]
	for i := range samples {
		s, nums := &samples[i], &d.nums[i]
		s.Node, s.Time = node, tm
		var errIdx, errAdmin, errOper error
		s.IfIndex, errIdx = toInt(nums.ifIndex, "ifIndex")
		s.AdminStatus, errAdmin = statusFromProto(wirepb.IfStatus(nums.admin))
		s.OperStatus, errOper = statusFromProto(wirepb.IfStatus(nums.oper))
		if d.groupErr != nil {
			continue
		}
		switch {
		case errIdx != nil:
			d.groupErr = fmt.Errorf("sample of %q: %w", node, errIdx)
		case errAdmin != nil:
			d.groupErr = fmt.Errorf("sample of %q ifIndex %d: admin %w", node, s.IfIndex, errAdmin)
		case errOper != nil:
			d.groupErr = fmt.Errorf("sample of %q ifIndex %d: oper %w", node, s.IfIndex, errOper)
		}
	}
	return nil
}

// nextSample appends a zero sample to b.Samples, in the room count made.
func (d *decoder) nextSample() *model.Sample {
	n := len(d.b.Samples)
	if n < cap(d.b.Samples) {
		d.b.Samples = d.b.Samples[:n+1] // zero: make cleared it
	} else {
		d.b.Samples = append(d.b.Samples, model.Sample{}) // count stopped short: a malformed message
	}
	return &d.b.Samples[n]
}

// sample reads an InterfaceSample into s and nums.
func (d *decoder) sample(b []byte, s *model.Sample, nums *sampleNums) error {
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return fieldError(b, msgSample)
		}
		var err error
		b = b[n:]
		switch tag {
		case 1<<3 | wVarint:
			nums.ifIndex = int64(u)
		case 2<<3 | wBytes:
			s.IfName, err = d.sampleStr(bs, tag, &d.last.ifName)
		case 3<<3 | wFixed64:
			s.IntervalSeconds = math.Float64frombits(u)
		case 4<<3 | wVarint:
			nums.admin = int32(u) // as proto.Unmarshal narrows an enum
		case 5<<3 | wVarint:
			nums.oper = int32(u)
		case 6<<3 | wVarint:
			s.SpeedBps = u
		case 7<<3 | wVarint:
			s.Counter64 = u != 0
		case 8<<3 | wVarint:
			s.InOctets = u
		case 9<<3 | wVarint:
			s.OutOctets = u
		case 10<<3 | wVarint:
			s.InPkts = u
		case 11<<3 | wVarint:
			s.OutPkts = u
		case 12<<3 | wVarint:
			s.InErrors = u
		case 13<<3 | wVarint:
			s.OutErrors = u
		case 14<<3 | wVarint:
			s.InDiscards = u
		case 15<<3 | wVarint:
			s.OutDiscards = u
		case 16<<3 | wVarint:
			s.Discontinuity = u != 0
		case 17<<3 | wFixed64:
			d.rate(&s.InBps, u)
		case 18<<3 | wFixed64:
			d.rate(&s.OutBps, u)
		case 19<<3 | wFixed64:
			d.rate(&s.InPps, u)
		case 20<<3 | wFixed64:
			d.rate(&s.OutPps, u)
		case 21<<3 | wFixed64:
			d.rate(&s.InErrorsRate, u)
		case 22<<3 | wFixed64:
			d.rate(&s.OutErrorsRate, u)
		case 23<<3 | wFixed64:
			d.rate(&s.InDiscardsRate, u)
		case 24<<3 | wFixed64:
			d.rate(&s.OutDiscardsRate, u)
		case 25<<3 | wBytes:
			if string(bs) == s.IfName { // often: ifDescr is ifName
				s.Descr = s.IfName
				break
			}
			s.Descr, err = d.sampleStr(bs, tag, &d.last.descr)
		case 26<<3 | wBytes:
			s.Alias, err = d.sampleStr(bs, tag, &d.last.alias)
		case 27<<3 | wBytes:
			s.Type, err = d.sampleStr(bs, tag, &d.last.typ)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rate sets the optional rate *p (nil: absent) to the double in bits, in
// the arena. A rate sent twice keeps its place: the last value wins.
func (d *decoder) rate(p **float64, bits uint64) {
	if *p == nil {
		if len(d.rates) == cap(d.rates) {
			// Room for every rate of the samples left: one arena for a
			// batch, unless count stopped short of the end.
			d.rates = make([]float64, 0, 8*max(d.samplesLeft, 1))
		}
		d.rates = d.rates[:len(d.rates)+1]
		*p = &d.rates[len(d.rates)-1]
	}
	**p = math.Float64frombits(bits)
}

// event reads an Event and appends it.
func (d *decoder) event(b []byte) error {
	i := len(d.b.Events)
	d.b.Events = append(d.b.Events, model.Event{})
	e := &d.b.Events[i]
	var t, ifIndex, localIfIndex int64
	for len(b) > 0 {
		tag, u, bs, n := next(b)
		if n < 0 {
			return fieldError(b, msgEvent)
		}
		var err error
		b = b[n:]
		switch tag {
		case 1<<3 | wVarint:
			t = int64(u)
		case 2<<3 | wBytes:
			e.Node, err = d.str(bs, msgEvent, tag)
		case 3<<3 | wBytes:
			var v string
			v, err = d.str(bs, msgEvent, tag)
			e.Kind = model.EventKind(v)
		case 4<<3 | wVarint:
			ifIndex = int64(u)
		case 5<<3 | wBytes:
			e.IfName, err = d.str(bs, msgEvent, tag)
		case 6<<3 | wBytes:
			e.From, err = d.str(bs, msgEvent, tag)
		case 7<<3 | wBytes:
			e.To, err = d.str(bs, msgEvent, tag)
		case 8<<3 | wBytes:
			e.Detail, err = d.str(bs, msgEvent, tag)
		case 9<<3 | wBytes:
			// A second neighbor field is merged into the first, as
			// protobuf merges an embedded message sent twice.
			if e.Neighbor == nil {
				e.Neighbor = new(model.LLDPNeighbor)
			}
			if err = d.neighbor(bs, e.Neighbor, &localIfIndex); err != nil {
				err = fmt.Errorf("neighbor: %w", err)
			}
		}
		if err != nil {
			return err
		}
	}
	e.Time = fromUnixNano(t)
	idx, errIdx := toInt(ifIndex, "ifIndex")
	e.IfIndex = idx
	var errLocal error
	if e.Neighbor != nil {
		e.Neighbor.LocalIfIndex, errLocal = toInt(localIfIndex, "LLDP local ifIndex")
	}
	if d.eventErr == nil {
		switch {
		case e.Node == "":
			d.eventErr = fmt.Errorf("event %d has no node", i)
		case e.Kind == "":
			d.eventErr = fmt.Errorf("event %d of %q has no kind", i, e.Node)
		case errIdx != nil:
			d.eventErr = fmt.Errorf("event %s of %q: %w", e.Kind, e.Node, errIdx)
		case errLocal != nil:
			d.eventErr = fmt.Errorf("event %s of %q: %w", e.Kind, e.Node, errLocal)
		}
	}
	return nil
}

// neighbor reads an LLDPNeighbor into n, and its local_if_index into
// localIfIndex (checked with the event).
func (d *decoder) neighbor(b []byte, n *model.LLDPNeighbor, localIfIndex *int64) error {
	for len(b) > 0 {
		tag, u, bs, m := next(b)
		if m < 0 {
			return fieldError(b, msgNeighbor)
		}
		var err error
		b = b[m:]
		switch tag {
		case 1<<3 | wBytes:
			n.LocalPort, err = d.str(bs, msgNeighbor, tag)
		case 2<<3 | wVarint:
			*localIfIndex = int64(u)
		case 3<<3 | wBytes:
			n.ChassisID, err = d.str(bs, msgNeighbor, tag)
		case 4<<3 | wBytes:
			n.PortID, err = d.str(bs, msgNeighbor, tag)
		case 5<<3 | wBytes:
			n.PortDescr, err = d.str(bs, msgNeighbor, tag)
		case 6<<3 | wBytes:
			n.SysName, err = d.str(bs, msgNeighbor, tag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// str is the string field tag of message m, with bytes bs, interned.
// The bytes are checked for UTF-8 only when first seen: a string found in
// strs was valid.
func (d *decoder) str(bs []byte, m message, tag uint64) (string, error) {
	if len(bs) == 0 {
		return "", nil
	}
	if s, ok := d.strs[string(bs)]; ok { // no allocation for the look-up
		return s, nil
	}
	if !utf8.Valid(bs) {
		// proto.Unmarshal's words.
		return "", fmt.Errorf("%s: string field contains invalid UTF-8", m.field(protowire.Number(tag>>3)))
	}
	s := string(bs)
	d.strs[s] = s
	return s, nil
}

// sampleStr is str for a string of a sample, which is often the one of
// the sample before (its type, or its alias in a batch of several polls
// of a device): a comparison with it costs less than a look-up in strs.
func (d *decoder) sampleStr(bs []byte, tag uint64, last *string) (string, error) {
	if string(bs) == *last {
		return *last, nil
	}
	s, err := d.str(bs, msgSample, tag)
	*last = s
	return s, err
}

// count returns the numbers of device samples, interface samples and
// events in b, to allocate each slice once. It reads the fields of the
// batch and of its groups only, and stops at the first it cannot read:
// the decoding pass says what is wrong there.
func count(b []byte) (devices, samples, events int) {
	for len(b) > 0 {
		tag, _, bs, n := next(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch tag {
		case 5<<3 | wBytes:
			devices++
		case 6<<3 | wBytes:
			for len(bs) > 0 {
				tag, _, _, n := next(bs)
				if n < 0 {
					break
				}
				bs = bs[n:]
				if tag == 3<<3|wBytes {
					samples++
				}
			}
		case 7<<3 | wBytes:
			events++
		}
	}
	return
}

// next reads the field at the start of b: its tag (number<<3 | wire
// type), its value (the number of a varint or a fixed64 in u, the bytes
// of a length-delimited field in bs) and its length n, or n < 0 where
// proto.Unmarshal would fail (fieldError says why): a tag that is not a
// varint or whose number is not 1 to 2^29-1, a value cut short. Fields of
// other wire types than varint, fixed64 and length-delimited (fixed32,
// groups) are no fields of wire.proto's: as any unknown field, they are
// skipped. The results are not a struct: the copy of one cost a third of
// the time (a store-forwarding stall).
func next(b []byte) (tag, u uint64, bs []byte, n int) {
	switch { // as proto.Unmarshal, tags of one and two bytes inline
	case len(b) > 0 && b[0] < 0x80:
		tag, n = uint64(b[0]), 1
	case len(b) > 1 && b[1] < 0x80:
		tag, n = uint64(b[0]&0x7f)|uint64(b[1])<<7, 2
	default:
		tag, n = protowire.ConsumeVarint(b)
	}
	if n < 0 || tag>>3 < uint64(protowire.MinValidNumber) || tag>>3 > uint64(protowire.MaxValidNumber) {
		return 0, 0, nil, -1
	}
	v := b[n:]
	var vn int
	switch tag & 7 {
	case wVarint:
		if len(v) > 0 && v[0] < 0x80 {
			u, vn = uint64(v[0]), 1
		} else {
			u, vn = protowire.ConsumeVarint(v)
		}
	case wFixed64:
		u, vn = protowire.ConsumeFixed64(v)
	case wBytes:
		bs, vn = protowire.ConsumeBytes(v)
	default:
		vn = protowire.ConsumeFieldValue(protowire.Number(tag>>3), protowire.Type(tag&7), v)
	}
	if vn < 0 {
		return 0, 0, nil, -1
	}
	return tag, u, bs, n + vn
}

// fieldError says why next cannot read the field at the start of b, in
// a message m.
func fieldError(b []byte, m message) error {
	tag, n := protowire.ConsumeVarint(b)
	if n < 0 {
		if protowire.ParseError(n) != io.ErrUnexpectedEOF {
			return errors.New("field tag: varint longer than 64 bits")
		}
		return errors.New("truncated field tag")
	}
	num, typ := tag>>3, protowire.Type(tag&7)
	if num < uint64(protowire.MinValidNumber) || num > uint64(protowire.MaxValidNumber) {
		return fmt.Errorf("field number %d is invalid (1 to %d)", num, protowire.MaxValidNumber)
	}
	v := b[n:]
	vn := protowire.ConsumeFieldValue(protowire.Number(num), typ, v)
	if vn >= 0 {
		return fmt.Errorf("%s: no error found", m.field(protowire.Number(num))) // not reached
	}
	return fmt.Errorf("%s: %v", m.field(protowire.Number(num)), valueError(typ, v, vn))
}

// valueError says why a value of type typ at the start of b could not be
// read (protowire's error code n).
func valueError(typ protowire.Type, b []byte, n int) error {
	err := protowire.ParseError(n)
	if err != io.ErrUnexpectedEOF {
		switch typ {
		case protowire.EndGroupType:
			return errors.New("end of a group that was not started")
		case protowire.StartGroupType:
			return fmt.Errorf("group: %s", parseError(n))
		case protowire.VarintType:
			return errors.New("varint longer than 64 bits")
		}
		return fmt.Errorf("wire type %d is reserved", typ)
	}
	switch typ {
	case protowire.VarintType:
		return errors.New("truncated varint")
	case protowire.Fixed32Type:
		return fmt.Errorf("truncated fixed32 (%d bytes left)", len(b))
	case protowire.Fixed64Type:
		return fmt.Errorf("truncated fixed64 (%d bytes left)", len(b))
	case protowire.BytesType:
		if l, m := protowire.ConsumeVarint(b); m > 0 {
			return fmt.Errorf("length %d is beyond the %d bytes left", l, len(b)-m)
		}
		return errors.New("truncated length")
	}
	return errors.New("truncated group")
}

// parseError is protowire's error for code n without its "proto:"
// prefix, whose space is at times a no-break space.
func parseError(n int) string {
	msg := strings.TrimPrefix(protowire.ParseError(n).Error(), "proto:")
	return strings.TrimLeft(msg, " \u00a0")
}

// message is a message type of wire.proto, for the errors of next.
type message int

const (
	msgBatch message = iota
	msgDevice
	msgExtra
	msgGroup
	msgSample
	msgNeighbor
	msgEvent
)

// field names the field num of m for an error, as wire.proto does.
func (m message) field(num protowire.Number) string {
	var md protoreflect.MessageDescriptor
	switch m {
	case msgBatch:
		md = (*wirepb.Batch)(nil).ProtoReflect().Descriptor()
	case msgDevice, msgExtra:
		md = (*wirepb.DeviceSample)(nil).ProtoReflect().Descriptor()
		if m == msgExtra {
			md = md.Fields().ByName("extra").Message()
		}
	case msgGroup:
		md = (*wirepb.InterfaceGroup)(nil).ProtoReflect().Descriptor()
	case msgSample:
		md = (*wirepb.InterfaceSample)(nil).ProtoReflect().Descriptor()
	case msgNeighbor:
		md = (*wirepb.LLDPNeighbor)(nil).ProtoReflect().Descriptor()
	case msgEvent:
		md = (*wirepb.Event)(nil).ProtoReflect().Descriptor()
	}
	if fd := md.Fields().ByNumber(num); fd != nil {
		return string(fd.Name())
	}
	return fmt.Sprintf("unknown field %d", num)
}
