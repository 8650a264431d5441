package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire/internal/wirepb"
)

// The reference decoder: how Decode read the message before decode.go,
// with proto.Unmarshal into the generated types and fromProto. The
// differential tests hold decodeMessage to it.

// referenceDecode is decodeMessage's reference: Decode's former steps
// after decompression, and their error messages.
func referenceDecode(raw []byte) (*Batch, error) {
	var m wirepb.Batch
	if err := proto.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: not a protobuf unet.wire.v1.Batch: %v", ErrMalformed, err)
	}
	if m.Version != Version {
		return nil, fmt.Errorf("%w: format version %d, this collector reads version %d only (upgrade the collector before the agents)",
			ErrMalformed, m.Version, Version)
	}
	b, err := fromProto(&m)
	if err != nil {
		return nil, fmt.Errorf("%w: batch %d of agent %q: %v", ErrMalformed, m.Seq, m.Agent, err)
	}
	return b, nil
}

// fromProto converts a decoded message, refusing what no agent sends: no
// agent or sequence number, rows without a node, events without a kind,
// unknown statuses, indexes that do not fit an int.
func fromProto(m *wirepb.Batch) (*Batch, error) {
	if m.Agent == "" {
		return nil, errors.New("no agent name")
	}
	if m.Seq == 0 {
		return nil, errors.New("no sequence number (they start at 1)")
	}
	b := &Batch{Agent: m.Agent, Seq: m.Seq, Created: fromUnixNano(m.CreatedUnixNano)}

	if len(m.Devices) > 0 {
		b.Devices = make([]model.DeviceSample, len(m.Devices))
		for i, d := range m.Devices {
			if d.Node == "" {
				return nil, fmt.Errorf("device sample %d has no node", i)
			}
			n, err := toInt(d.Interfaces, "interface count")
			if err != nil {
				return nil, fmt.Errorf("device sample of %q: %w", d.Node, err)
			}
			b.Devices[i] = model.DeviceSample{
				Node: d.Node, Time: fromUnixNano(d.TimeUnixNano), Reachable: d.Reachable, Error: d.Error,
				UptimeSeconds: d.UptimeSeconds, PollDurationSeconds: d.PollDurationSeconds,
				Interfaces: n, Extra: d.Extra,
				// A vendor this collector does not know (a newer agent's)
				// is kept as sent: it is a label, not a choice.
				SysName: d.SysName, SysDescr: d.SysDescr, SysObjectID: d.SysObjectId, Vendor: model.Vendor(d.Vendor),
			}
		}
	}

	total := 0
	for _, g := range m.Interfaces {
		total += len(g.Samples)
	}
	if total > 0 {
		b.Samples = make([]model.Sample, 0, total)
	}
	for gi, g := range m.Interfaces {
		if g.Node == "" {
			return nil, fmt.Errorf("interface group %d has no node", gi)
		}
		t := fromUnixNano(g.TimeUnixNano)
		for _, s := range g.Samples {
			if s == nil {
				continue
			}
			idx, err := toInt(s.IfIndex, "ifIndex")
			if err != nil {
				return nil, fmt.Errorf("sample of %q: %w", g.Node, err)
			}
			admin, err := statusFromProto(s.AdminStatus)
			if err != nil {
				return nil, fmt.Errorf("sample of %q ifIndex %d: admin %w", g.Node, idx, err)
			}
			oper, err := statusFromProto(s.OperStatus)
			if err != nil {
				return nil, fmt.Errorf("sample of %q ifIndex %d: oper %w", g.Node, idx, err)
			}
			b.Samples = append(b.Samples, model.Sample{
				Node: g.Node, Time: t, IfIndex: idx, IfName: s.IfName, IntervalSeconds: s.IntervalSeconds,
				AdminStatus: admin, OperStatus: oper, SpeedBps: s.SpeedBps, Counter64: s.Counter64,
				InOctets: s.InOctets, OutOctets: s.OutOctets, InPkts: s.InPkts, OutPkts: s.OutPkts,
				InErrors: s.InErrors, OutErrors: s.OutErrors, InDiscards: s.InDiscards, OutDiscards: s.OutDiscards,
				Discontinuity: s.Discontinuity, Descr: s.Descr, Alias: s.Alias, Type: s.Type,
				Rates: model.Rates{
					InBps: s.InBps, OutBps: s.OutBps, InPps: s.InPps, OutPps: s.OutPps,
					InErrorsRate: s.InErrorsRate, OutErrorsRate: s.OutErrorsRate,
					InDiscardsRate: s.InDiscardsRate, OutDiscardsRate: s.OutDiscardsRate,
				},
			})
		}
	}

	if len(m.Events) > 0 {
		b.Events = make([]model.Event, len(m.Events))
		for i, e := range m.Events {
			if e.Node == "" {
				return nil, fmt.Errorf("event %d has no node", i)
			}
			if e.Kind == "" {
				return nil, fmt.Errorf("event %d of %q has no kind", i, e.Node)
			}
			idx, err := toInt(e.IfIndex, "ifIndex")
			if err != nil {
				return nil, fmt.Errorf("event %s of %q: %w", e.Kind, e.Node, err)
			}
			b.Events[i] = model.Event{
				Time: fromUnixNano(e.TimeUnixNano), Node: e.Node, Kind: model.EventKind(e.Kind), IfIndex: idx,
				IfName: e.IfName, From: e.From, To: e.To, Detail: e.Detail,
			}
			if n := e.Neighbor; n != nil {
				li, err := toInt(n.LocalIfIndex, "LLDP local ifIndex")
				if err != nil {
					return nil, fmt.Errorf("event %s of %q: %w", e.Kind, e.Node, err)
				}
				b.Events[i].Neighbor = &model.LLDPNeighbor{
					LocalPort: n.LocalPort, LocalIfIndex: li, ChassisID: n.ChassisId,
					PortID: n.PortId, PortDescr: n.PortDescr, SysName: n.SysName,
				}
			}
		}
	}
	return b, nil
}

// exactly compares decoded batches to the bit: NaN rates equal NaN ones
// (-0 does not equal 0), and times equal only with the same location.
var exactly = cmp.Options{
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
	cmp.Comparer(func(a, b time.Time) bool { return a == b }),
}

// exactlyEqual is cmp.Equal(a, b, exactly) for the types of a Batch,
// without cmp's cost, which the differential tests' hundreds of
// thousands of batches feel.
func exactlyEqual(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return exactlyEqual(a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return a.Interface().(time.Time) == b.Interface().(time.Time)
		}
		for i := range a.NumField() {
			if !exactlyEqual(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !exactlyEqual(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			v := b.MapIndex(it.Key())
			if !v.IsValid() || !exactlyEqual(it.Value(), v) {
				return false
			}
		}
		return true
	case reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case reflect.String:
		return a.String() == b.String()
	case reflect.Int, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint64:
		return a.Uint() == b.Uint()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	}
	panic("exactlyEqual: no case for " + a.Type().String())
}

// sameDecoding checks that decodeMessage and referenceDecode agree on
// raw: both refuse it, or both return the same batch. Where proto.Unmarshal
// accepted the message (a version or a content refused) the errors must
// be the same too; for what it refused, decodeMessage's error says more.
func sameDecoding(t testing.TB, name string, raw []byte) bool {
	t.Helper()
	got, err := decodeMessage(raw, DefaultLimits().MaxRows)
	want, wantErr := referenceDecode(raw)
	switch {
	case err == nil && wantErr == nil:
		if !exactlyEqual(reflect.ValueOf(want), reflect.ValueOf(got)) {
			t.Errorf("%s: decodeMessage differs from proto.Unmarshal+fromProto (-reference +new):\n%s", name, cmp.Diff(want, got, exactly))
			return false
		}
	case err != nil && wantErr != nil:
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %q is not ErrMalformed", name, err)
			return false
		}
		if !strings.Contains(wantErr.Error(), "not a protobuf") && err.Error() != wantErr.Error() {
			t.Errorf("%s: error %q, the reference's %q", name, err, wantErr)
			return false
		}
	case err != nil:
		t.Errorf("%s: decodeMessage refuses what the reference accepts: %v", name, err)
		return false
	default:
		t.Errorf("%s: decodeMessage accepts what the reference refuses (%v): %+v", name, wantErr, got)
		return false
	}
	return true
}

// edgeBatch is a batch of the values at the edges of each field: every
// rate absent, present alone, zero, negative zero, NaN, infinite; extra
// maps with an empty key and NaN; every kind of event; unicode; times
// before 1970 and at the limits; indexes at their limits.
func edgeBatch() *Batch {
	t := time.Date(2026, 11, 26, 10, 0, 0, 1, time.UTC)
	b := &Batch{Agent: "агент-é", Seq: math.MaxUint64, Created: time.Unix(0, math.MaxInt64).UTC()}
	values := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, math.MaxFloat64, -1.5}
	for i, v := range values {
		node := fmt.Sprintf("交换机-%d ✓", i%3)
		var r model.Rates
		rates := []**float64{&r.InBps, &r.OutBps, &r.InPps, &r.OutPps, &r.InErrorsRate, &r.OutErrorsRate, &r.InDiscardsRate, &r.OutDiscardsRate}
		for j := range rates {
			// Sample i: rate j present when bit j of i is set, and the
			// last rate always, with the value i.
			if i>>j&1 == 1 || j == len(rates)-1 {
				*rates[j] = f64(v)
			}
		}
		b.Samples = append(b.Samples,
			model.Sample{Node: node, Time: t, IfIndex: math.MaxInt32, IfName: "xe-0/0/" + fmt.Sprint(i), IntervalSeconds: v,
				AdminStatus: model.IfTesting, OperStatus: model.IfNotPresent, SpeedBps: math.MaxUint64, Counter64: i%2 == 0,
				InOctets: math.MaxUint64, Rates: r, Descr: "😀", Alias: "\x00", Type: "ieee80211"},
			model.Sample{Node: node, Time: t.AddDate(-40*i, 0, 0), IfName: "xe-0/0/0",
				AdminStatus: model.IfUnknown, OperStatus: model.IfDormant},
		)
	}
	b.Samples = append(b.Samples, model.Sample{Node: "n"}) // no time, no status, no rates
	b.Devices = []model.DeviceSample{
		{Node: "n"},
		{Node: "交换机-1 ✓", Time: time.Unix(0, math.MinInt64+1).UTC(), UptimeSeconds: -1, PollDurationSeconds: math.NaN(),
			Interfaces: math.MaxInt32, Extra: map[string]float64{"": 0, "nan": math.NaN(), "inf": math.Inf(-1), "é": -0.5}},
		{Node: "m", Extra: map[string]float64{"cpu_5min": 12}, Vendor: "a-vendor-of-tomorrow"},
	}
	for i, k := range []model.EventKind{model.EventOperStatus, model.EventAdminStatus, model.EventFlap, model.EventReachability,
		model.EventReboot, model.EventLLDPAdded, model.EventLLDPRemoved, "kind-of-tomorrow"} {
		e := model.Event{Time: t, Node: "n", Kind: k, IfIndex: i, IfName: "xe-0/0/1", From: "up", To: "down", Detail: "ü"}
		switch i % 3 {
		case 1:
			e.Neighbor = &model.LLDPNeighbor{}
		case 2:
			e.Neighbor = &model.LLDPNeighbor{LocalPort: "xe-0/0/1", LocalIfIndex: math.MaxInt32, ChassisID: "aa:bb:cc:dd:ee:ff",
				PortID: "Ethernet1", PortDescr: "to n", SysName: "n2"}
		}
		b.Events = append(b.Events, e)
	}
	return b
}

// goldenRaw is the message inside a golden file.
func goldenRaw(t testing.TB, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	raw, err := zr.DecodeAll(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestDecodeDifferential: on batches as Encode writes them, decodeMessage
// returns what proto.Unmarshal and fromProto return.
func TestDecodeDifferential(t *testing.T) {
	for _, tc := range []struct {
		name  string
		batch *Batch
	}{
		{"fixture", fixture()},
		{"fixture without labels", withoutLabels(fixture())},
		{"realistic", realistic(4, 7)},
		{"empty", &Batch{Agent: "a", Seq: 1}},
		{"edges", edgeBatch()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := rawProto(t, tc.batch)
			sameDecoding(t, tc.name, raw)
			got, err := decodeMessage(raw, DefaultLimits().MaxRows)
			if err != nil {
				t.Fatal(err)
			}
			// And the round trip: Encode's batch comes back.
			if diff := cmp.Diff(tc.batch, got, exactly); diff != "" {
				t.Errorf("decoded batch differs (-sent +decoded):\n%s", diff)
			}
		})
	}
	for _, name := range []string{goldenV1, goldenLabels} {
		t.Run(name, func(t *testing.T) { sameDecoding(t, name, goldenRaw(t, name)) })
	}
}

// Hand-made protobuf: fields of each wire type.
func pbVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func pbBytes(num protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func pbDouble(num protowire.Number, v float64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), math.Float64bits(v))
}

func pbFixed32(num protowire.Number, v uint32) []byte {
	return protowire.AppendFixed32(protowire.AppendTag(nil, num, protowire.Fixed32Type), v)
}

func pbGroup(num protowire.Number, inner []byte) []byte {
	b := append(protowire.AppendTag(nil, num, protowire.StartGroupType), inner...)
	return protowire.AppendTag(b, num, protowire.EndGroupType)
}

func pb(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

// handLevels names the messages handBatch can add fields to.
var handLevels = []string{"batch", "device", "extra", "group", "sample", "neighbor", "event"}

// handBatch is a valid batch with one of each message, and extra fields
// appended to the message of each level (handLevels) named in add.
func handBatch(add map[string][]byte) []byte {
	entry := pb(pbBytes(1, "cpu"), pbDouble(2, 1.5), add["extra"])
	device := pb(pbBytes(1, "n"), pbVarint(7, 2), pbBytes(8, string(entry)), add["device"])
	// A device without extra, for the fields that make its map.
	device2 := pb(pbBytes(1, "m"), add["device"])
	sample := pb(pbVarint(1, 1), pbBytes(2, "xe-0/0/1"), pbVarint(4, 1), pbVarint(5, 2), pbDouble(17, 1), add["sample"])
	group := pb(pbBytes(1, "n"), pbVarint(2, 1e18), pbBytes(3, string(sample)), pbBytes(3, string(sample)), add["group"])
	neighbor := pb(pbBytes(1, "xe-0/0/1"), pbVarint(2, 1), add["neighbor"])
	event := pb(pbVarint(1, 1e18), pbBytes(2, "n"), pbBytes(3, "lldp_neighbor_added"), pbBytes(9, string(neighbor)), add["event"])
	return pb(pbVarint(1, Version), pbBytes(2, "a"), pbVarint(3, 7), pbBytes(5, string(device)), pbBytes(5, string(device2)),
		pbBytes(6, string(group)), pbBytes(7, string(event)), add["batch"])
}

// oddFields are fields of number num of every wire type, with values
// that fit a field of wire.proto or not, and ill-formed ones.
func oddFields(num protowire.Number) [][]byte {
	tag := func(typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	return [][]byte{
		pbVarint(num, 0),
		pbVarint(num, 1),
		pbVarint(num, 9),
		pbVarint(num, math.MaxUint64),
		pbVarint(num, 1<<32+1), // narrowed to 1 as an int32 or a uint32
		pbVarint(num, 1<<31),
		append(tag(protowire.VarintType), 0x81, 0x00), // 1, not minimal
		pbFixed32(num, 1),
		pbDouble(num, 2.5),
		pbDouble(num, math.NaN()),
		pbBytes(num, ""),
		pbBytes(num, "x"),
		pbBytes(num, "\xff"),
		pbBytes(num, "\x08\x03"), // a message of field 1 = 3, or a string
		pbBytes(num, string(pbBytes(1, "é"))),
		pbBytes(num, string(pbBytes(1, "\xc3"))),
		pbBytes(num, string(pbDouble(2, 3))),
		pbGroup(num, nil),
		pbGroup(num, pbVarint(1, 1)),
		pbGroup(num, pbGroup(num+1, pbBytes(2, "\xff"))), // groups are not checked for UTF-8
		append(tag(protowire.StartGroupType), tag(protowire.VarintType)...),
		append(tag(protowire.StartGroupType), protowire.AppendTag(nil, num+1, protowire.EndGroupType)...),
		tag(protowire.EndGroupType),
		tag(6),
		tag(7),
		tag(protowire.VarintType),
		tag(protowire.Fixed64Type),
		append(tag(protowire.BytesType), 5, 'a'),
		protowire.AppendVarint(tag(protowire.BytesType), 1<<40),
		append(tag(protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), // overflow
	}
}

// TestDecodeOddFields: every field number of every message of the
// batch, known or not, with values of every wire type, well-formed or
// not, once, at the start or at the end, or twice (the last wins).
func TestDecodeOddFields(t *testing.T) {
	if !sameDecoding(t, "hand-made", handBatch(nil)) {
		t.Fatal("the hand-made batch itself")
	}
	if _, err := decodeMessage(handBatch(nil), DefaultLimits().MaxRows); err != nil {
		t.Fatalf("the hand-made batch is refused: %v", err)
	}
	nums := []protowire.Number{0, 28, 29, 1000, protowire.MaxValidNumber, protowire.MaxValidNumber + 1}
	for n := protowire.Number(1); n <= 27; n++ {
		nums = append(nums, n)
	}
	failures := 0
	for _, level := range handLevels {
		for _, num := range nums {
			odd := oddFields(num)
			for i, f := range odd {
				name := fmt.Sprintf("%s field %d, value %d", level, num, i)
				ok := sameDecoding(t, name+" at the end", handBatch(map[string][]byte{level: f}))
				// Twice: each value after each other one.
				for j, g := range odd {
					ok = ok && sameDecoding(t, fmt.Sprintf("%s then value %d", name, j), handBatch(map[string][]byte{level: pb(f, g)}))
				}
				if !ok {
					if failures++; failures > 20 {
						t.Fatal("too many differences")
					}
				}
			}
		}
	}
	// At the start of the message: before the node of a device, group or
	// event, the fields the others' checks name.
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"samples before the group's node", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			pbBytes(6, string(pb(pbBytes(3, string(pbVarint(5, 9))), pbBytes(1, "late"), pbBytes(1, "later")))))},
		{"a node given twice, the last empty", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			pbBytes(6, string(pb(pbBytes(1, "n"), pbBytes(3, ""), pbBytes(1, "")))))},
		{"version after the rest", pb(pbBytes(2, "a"), pbVarint(3, 1), pbVarint(1, 1))},
		{"version twice", pb(pbVarint(1, 2), pbBytes(2, "a"), pbVarint(3, 1), pbVarint(1, 1))},
		{"neighbor merged", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1), pbBytes(7, string(pb(
			pbBytes(2, "n"), pbBytes(9, string(pb(pbBytes(1, "p"), pbVarint(2, 5), pbBytes(6, "s")))), pbBytes(3, "k"),
			pbBytes(9, string(pb(pbBytes(1, "q"), pbBytes(3, "c")))), pbBytes(9, ""),
		))))},
		{"neighbor's local ifIndex out of range, then in range", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1), pbBytes(7, string(pb(
			pbBytes(2, "n"), pbBytes(3, "k"), pbBytes(9, string(pbVarint(2, 1<<40))), pbBytes(9, string(pbVarint(2, 3))),
		))))},
		{"extra entries: duplicates, missing key or value", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1), pbBytes(5, string(pb(
			pbBytes(1, "n"), pbBytes(8, string(pb(pbBytes(1, "k"), pbDouble(2, 1)))), pbBytes(8, string(pb(pbDouble(2, 2), pbBytes(1, "k")))),
			pbBytes(8, string(pbBytes(1, "nothing"))), pbBytes(8, string(pbDouble(2, 4))), pbBytes(8, ""),
			pbBytes(8, string(pb(pbBytes(1, "x"), pbDouble(2, 5), pbBytes(1, "y")))),
		))))},
		{"errors in each part, in fromProto's order", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			pbBytes(7, ""), pbBytes(6, ""), pbBytes(5, string(pbVarint(7, 1<<40))), pbBytes(5, ""))},
		{"errors in groups and events", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			pbBytes(7, ""), pbBytes(6, string(pb(pbBytes(1, "n"), pbBytes(3, string(pbVarint(4, 8))), pbBytes(3, string(pbVarint(1, 1<<63)))))))},
		{"a group without samples", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1), pbBytes(6, string(pbBytes(1, "n"))))},
		{"an empty group", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1), pbBytes(6, ""))},
		{"nested groups past the recursion limit", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			bytes.Repeat(protowire.AppendTag(nil, 99, protowire.StartGroupType), 10002),
			bytes.Repeat(protowire.AppendTag(nil, 99, protowire.EndGroupType), 10002))},
		{"nested groups within the limit", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			bytes.Repeat(protowire.AppendTag(nil, 99, protowire.StartGroupType), 9000),
			bytes.Repeat(protowire.AppendTag(nil, 99, protowire.EndGroupType), 9000))},
		{"the largest field number within a group", pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1),
			pbGroup(99, protowire.AppendVarint(nil, uint64(math.MaxInt32)<<3)), pbVarint(1, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) { sameDecoding(t, tc.name, tc.raw) })
	}
}

// TestDecodeDamaged: valid messages cut at every byte, and with each byte
// replaced by a few others.
func TestDecodeDamaged(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"fixture", rawProto(t, fixture())},
		{"edges", rawProto(t, edgeBatch())},
		{"hand-made", handBatch(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failures := 0
			fail := func(ok bool) {
				if !ok {
					if failures++; failures > 20 {
						t.Fatal("too many differences")
					}
				}
			}
			for i := range tc.raw {
				fail(sameDecoding(t, fmt.Sprintf("cut at %d", i), tc.raw[:i]))
				for _, c := range []byte{0x00, 0x01, 0x07, 0x0f, 0x7f, 0x80, 0xc3, 0xff} {
					b := bytes.Clone(tc.raw)
					b[i] = c
					fail(sameDecoding(t, fmt.Sprintf("byte %d set to %#x", i, c), b))
					b[i] ^= 0x80
					fail(sameDecoding(t, fmt.Sprintf("byte %d set to %#x", i, c^0x80), b))
				}
			}
		})
	}
}

// TestDecodeSays: what decodeMessage says about messages proto.Unmarshal
// refuses: what is wrong, and where.
func TestDecodeSays(t *testing.T) {
	header := pb(pbVarint(1, 1), pbBytes(2, "a"), pbVarint(3, 1))
	okSample := pb(pbVarint(1, 1), pbDouble(17, 1))
	truncRate := append(pbVarint(1, 2), protowire.AppendTag(nil, 17, protowire.Fixed64Type)...)
	truncRate = append(truncRate, 1, 2, 3)
	for _, tc := range []struct {
		name string
		raw  []byte
		says string
	}{
		{"truncated rate", pb(header, pbBytes(6, string(pb(pbBytes(1, "n"), pbBytes(3, string(okSample)), pbBytes(3, string(truncRate)))))),
			"interface group 0: sample 1: in_bps: truncated fixed64 (3 bytes left)"},
		{"second group", pb(header, pbBytes(6, ""), pbBytes(6, string(pbBytes(3, string(pbBytes(2, "\xff")))))),
			"interface group 1: sample 0: if_name: string field contains invalid UTF-8"},
		{"extra key", pb(header, pbBytes(5, string(pbBytes(8, string(pbBytes(1, "\xc3")))))),
			"device sample 0: extra: key: string field contains invalid UTF-8"},
		{"neighbor", pb(header, pbBytes(7, ""), pbBytes(7, string(pbBytes(9, string(append(pbBytes(3, "c"), 0x10)))))),
			"event 1: neighbor: local_if_index: truncated varint"},
		{"huge length", pb(header, protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), 1<<40)),
			"agent: length 1099511627776 is beyond the 0 bytes left"},
		{"field 0", pb(header, pbVarint(0, 1)), "field number 0 is invalid"},
		{"field 2^29", pb(header, pbVarint(protowire.MaxValidNumber+1, 1)), "field number 536870912 is invalid"},
		{"end of group", pb(header, protowire.AppendTag(nil, 5, protowire.EndGroupType)), "devices: end of a group that was not started"},
		{"reserved wire type", pb(header, protowire.AppendTag(nil, 99, 6)), "unknown field 99: wire type 6 is reserved"},
		{"truncated tag", pb(header, []byte{0x80}), "truncated field tag"},
		{"mismatched group", pb(header, protowire.AppendTag(nil, 99, protowire.StartGroupType), protowire.AppendTag(nil, 98, protowire.EndGroupType)),
			"unknown field 99: group: mismatching end group marker"},
		{"varint overflow", pb(header, pbBytes(5, string(append(protowire.AppendTag(nil, 2, protowire.VarintType), bytes.Repeat([]byte{0xff}, 10)...)))),
			"device sample 0: time_unix_nano: varint longer than 64 bits"},
		{"unterminated group", pb(header, protowire.AppendTag(nil, 99, protowire.StartGroupType)), "unknown field 99: truncated group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !sameDecoding(t, tc.name, tc.raw) {
				return
			}
			_, err := decodeMessage(tc.raw, DefaultLimits().MaxRows)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %v, want one saying %q", err, tc.says)
			}
			if err != nil && !strings.Contains(err.Error(), "not a protobuf unet.wire.v1.Batch") {
				t.Errorf("error %v does not say it is not a batch", err)
			}
		})
	}
}

// TestDecodeOwnsItsData: a decoded batch shares no memory with the
// message (the collector keeps its strings), and no two rates share a
// float64.
func TestDecodeOwnsItsData(t *testing.T) {
	raw := rawProto(t, realistic(3, 5))
	want, err := decodeMessage(bytes.Clone(raw), DefaultLimits().MaxRows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeMessage(raw, DefaultLimits().MaxRows)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		raw[i] = 0xff
	}
	if diff := cmp.Diff(want, got, exactly); diff != "" {
		t.Errorf("overwriting the message changed the batch:\n%s", diff)
	}
	seen := make(map[*float64]bool)
	for _, s := range got.Samples {
		for _, p := range []*float64{s.InBps, s.OutBps, s.InPps, s.OutPps, s.InErrorsRate, s.OutErrorsRate, s.InDiscardsRate, s.OutDiscardsRate} {
			if p == nil {
				t.Fatalf("sample %+v lacks a rate", s)
			}
			if seen[p] {
				t.Fatalf("two rates share %p", p)
			}
			seen[p] = true
		}
	}
	if !reflect.DeepEqual(got.Samples[0].Node, got.Samples[1].Node) {
		t.Errorf("the samples of a group have nodes %q and %q", got.Samples[0].Node, got.Samples[1].Node)
	}
}

// TestDecodeAllocations: allocations are per batch and per distinct
// string, not per sample (it was ~13 per sample).
func TestDecodeAllocations(t *testing.T) {
	batch := realistic(20, 48) // 960 samples, each with its own alias
	raw := rawProto(t, batch)
	strs := make(map[string]bool)
	for _, d := range batch.Devices {
		strs[d.Node], strs[d.SysName], strs[d.SysDescr], strs[d.SysObjectID], strs[string(d.Vendor)] = true, true, true, true, true
	}
	for _, s := range batch.Samples {
		strs[s.IfName], strs[s.Descr], strs[s.Alias], strs[s.Type] = true, true, true, true
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := decodeMessage(raw, DefaultLimits().MaxRows); err != nil {
			t.Fatal(err)
		}
	})
	// The distinct strings, the batch and its slices, the arena, the
	// growth of the map of strings and of the scratch slice.
	if limit := float64(len(strs) + 64); allocs > limit {
		t.Errorf("%.0f allocations for %d samples and %d distinct strings, want at most %.0f", allocs, len(batch.Samples), len(strs), limit)
	}
	t.Logf("%.0f allocations for %d samples and %d distinct strings", allocs, len(batch.Samples), len(strs))
}

// BenchmarkDecodeMessage: the message of BenchmarkDecode's batch, decoded
// by proto.Unmarshal and fromProto (old) and by decodeMessage (new).
func BenchmarkDecodeMessage(b *testing.B) {
	raw := rawProtoB(b, realistic(100, 48))
	for _, bc := range []struct {
		name   string
		decode func([]byte) (*Batch, error)
	}{
		{"old", referenceDecode},
		{"new", func(raw []byte) (*Batch, error) { return decodeMessage(raw, DefaultLimits().MaxRows) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := bc.decode(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
		})
	}
}

// BenchmarkDecodeOld is BenchmarkDecode with the former decoding step
// (proto.Unmarshal and fromProto), for the ratio in one run.
func BenchmarkDecodeOld(b *testing.B) {
	body, err := Encode(realistic(100, 48))
	if err != nil {
		b.Fatal(err)
	}
	zr, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true))
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		raw, err := zr.DecodeAll(body, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := referenceDecode(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
}

// TestDecoderReusesBuffers: a Decoder reuses its decompression buffers,
// and a batch it returned does not change when it decodes the next.
func TestDecoderReusesBuffers(t *testing.T) {
	dec, err := NewDecoder(Limits{})
	if err != nil {
		t.Fatal(err)
	}
	first, second := realistic(2, 3), fixture()
	second.Samples[0].IfName = strings.Repeat("x", 1000) // more than the first's bytes
	var bodies [][]byte
	for _, b := range []*Batch{first, second, first} {
		body, err := Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	var got []*Batch
	for _, body := range bodies {
		b, err := dec.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	for i, want := range []*Batch{first, second, first} {
		if diff := cmp.Diff(want, got[i], exactly); diff != "" {
			t.Errorf("batch %d changed after the next decodings (-sent +decoded):\n%s", i, diff)
		}
	}
}

// TestDecoderConcurrent: one Decoder, its buffers shared by goroutines
// (run with -race).
func TestDecoderConcurrent(t *testing.T) {
	dec, err := NewDecoder(Limits{})
	if err != nil {
		t.Fatal(err)
	}
	batches := []*Batch{fixture(), realistic(3, 4), edgeBatch(), {Agent: "a", Seq: 1}}
	bodies := make([][]byte, len(batches))
	for i, b := range batches {
		if bodies[i], err = Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 50 {
				k := (g + i) % len(batches)
				b, err := dec.Decode(bodies[k])
				if err == nil && !exactlyEqual(reflect.ValueOf(batches[k]), reflect.ValueOf(b)) {
					err = fmt.Errorf("batch %d decoded differently", k)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
