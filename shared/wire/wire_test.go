package wire

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire/internal/wirepb"
)

var update = flag.Bool("update", false, "rewrite the newest golden batch ("+goldenLabels+") from the fixture")

// The golden batches: each pins what agents of some release sent. Only
// the newest is ever rewritten (-update).
const (
	// goldenV1 is a batch of the first agents: no system group in device
	// samples, no descr, alias or type in interface samples.
	goldenV1 = "batch-v1.bin"
	// goldenLabels has them (issue 5), still version 1.
	goldenLabels = "batch-v1-labels.bin"
)

func f64(v float64) *float64 { return &v }

// fixture is a batch with one of everything: two polls of two devices,
// rates present and absent, a failed poll, events with and without an
// LLDP neighbour, extra values, the system group and interface labels.
func fixture() *Batch {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC)
	t1 := t0.Add(30 * time.Second)
	return &Batch{
		Agent: "par1-a", Seq: 42, Created: t1.Add(time.Second),
		Devices: []model.DeviceSample{
			{Node: "core-1", Time: t1, Reachable: true, UptimeSeconds: 86400, PollDurationSeconds: 0.012,
				Interfaces: 2, Extra: map[string]float64{"cpu_5min": 12, "mem.1": 1 << 30},
				SysName: "core-1.par1.example.net", SysDescr: "Arista Networks EOS version 4.30.1F running on an Arista DCS-7280SR",
				SysObjectID: "1.3.6.1.4.1.30065.1.3011.7280.2.3", Vendor: model.VendorArista},
			{Node: "edge-9", Time: t1, Error: "timeout (wrong v3 keys?)", PollDurationSeconds: 3},
		},
		Samples: []model.Sample{
			{Node: "core-1", Time: t1, IfIndex: 1, IfName: "Ethernet1", Descr: "Ethernet1", Alias: "to core-2 xe-0/0/1 [10G]",
				Type: "ethernetCsmacd", IntervalSeconds: 30,
				AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 10_000_000_000, Counter64: true,
				InOctets: 1 << 40, OutOctets: 1<<40 + 7, InPkts: 123456, OutPkts: 654321, InErrors: 1, InDiscards: 2,
				Rates: model.Rates{InBps: f64(1.5e9), OutBps: f64(2.5e9), InPps: f64(1000), OutPps: f64(0),
					InErrorsRate: f64(0), OutErrorsRate: f64(0), InDiscardsRate: f64(0.1), OutDiscardsRate: f64(0)}},
			{Node: "core-1", Time: t1, IfIndex: 2, IfName: "Ethernet2", Descr: "Ethernet2", Type: "ethernetCsmacd", AdminStatus: model.IfUp,
				OperStatus: model.IfLowerLayerDown, SpeedBps: 1_000_000_000, InOctets: 4000000000, Discontinuity: true},
			{Node: "core-1", Time: t0, IfIndex: 1, IfName: "Ethernet1", AdminStatus: model.IfDown, OperStatus: model.IfDown},
		},
		Events: []model.Event{
			{Time: t1, Node: "core-1", Kind: model.EventOperStatus, IfIndex: 2, IfName: "Ethernet2", From: "up", To: "lowerLayerDown"},
			{Time: t1, Node: "edge-9", Kind: model.EventReachability, From: "reachable", To: "unreachable", Detail: "timeout"},
			{Time: t1, Node: "core-1", Kind: model.EventLLDPAdded, Neighbor: &model.LLDPNeighbor{
				LocalPort: "Ethernet1", LocalIfIndex: 1, ChassisID: "aa:bb:cc:dd:ee:ff", PortID: "xe-0/0/1",
				PortDescr: "to core-1", SysName: "core-2"}},
		},
	}
}

// withoutLabels is b as the first agents sent it: without what issue 5
// added (system group, interface descr, alias and type).
func withoutLabels(b *Batch) *Batch {
	for i := range b.Devices {
		d := &b.Devices[i]
		d.SysName, d.SysDescr, d.SysObjectID, d.Vendor = "", "", "", ""
	}
	for i := range b.Samples {
		s := &b.Samples[i]
		s.Descr, s.Alias, s.Type = "", "", ""
	}
	return b
}

// rawProto returns the protobuf bytes Encode compresses.
func rawProto(t *testing.T, b *Batch) []byte {
	t.Helper()
	m, err := toProto(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func zstdCompress(t testing.TB, raw []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(raw, nil)
}

func TestRoundTrip(t *testing.T) {
	in := fixture()
	body, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(body, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("decoded batch differs (-sent +decoded):\n%s", diff)
	}
	// The empty batch: a heartbeat of sorts, valid.
	empty := &Batch{Agent: "a", Seq: 1}
	body, err = Encode(empty)
	if err != nil {
		t.Fatal(err)
	}
	out, err = Decode(body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(empty, out); diff != "" {
		t.Errorf("empty batch differs:\n%s", diff)
	}
}

// TestGolden pins version 1: the collector must decode what agents built
// from older code sent (the golden files, never rewritten once released),
// and the encoder must still produce the same messages. A change of the
// zstd library may change the compressed bytes; the test compares the
// protobuf inside. Rewrite the newest golden with `go test -run Golden
// -update` only for a deliberate change of the fixture.
func TestGolden(t *testing.T) {
	for _, g := range []struct {
		file  string
		batch func() *Batch
	}{
		// A batch of the first agents decodes with the new fields empty,
		// and an agent with nothing in them sends the same bytes.
		{goldenV1, func() *Batch { return withoutLabels(fixture()) }},
		{goldenLabels, fixture},
	} {
		t.Run(g.file, func(t *testing.T) {
			path := filepath.Join("testdata", g.file)
			if *update && g.file == goldenLabels {
				body, err := Encode(g.batch())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(golden, DefaultLimits())
			if err != nil {
				t.Fatalf("the golden batch no longer decodes: %v", err)
			}
			if diff := cmp.Diff(g.batch(), got); diff != "" {
				t.Errorf("the golden batch decodes differently (-fixture +decoded):\n%s", diff)
			}
			zr, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			goldenRaw, err := zr.DecodeAll(golden, nil)
			if err != nil {
				t.Fatal(err)
			}
			if raw := rawProto(t, g.batch()); !bytes.Equal(raw, goldenRaw) {
				t.Errorf("Encode writes another message than the golden one (%d bytes, golden %d): a format change needs a new version",
					len(raw), len(goldenRaw))
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := rawProto(t, fixture())
	msg := func(edit func(m *wirepb.Batch)) []byte {
		t.Helper()
		var m wirepb.Batch
		if err := proto.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		edit(&m)
		raw, err := proto.Marshal(&m)
		if err != nil {
			t.Fatal(err)
		}
		return zstdCompress(t, raw)
	}
	// A decompression bomb: 4 MiB of zeros in a few hundred bytes, and the
	// same from a streaming writer, whose frame does not announce its size.
	zeros := make([]byte, 4<<20)
	var streamed bytes.Buffer
	zw, err := zstd.NewWriter(&streamed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	small := Limits{MaxCompressed: 1 << 20, MaxDecompressed: 1 << 20}
	// A million and one empty interface samples: 2 MB on the wire,
	// ~300 MB once decoded, were it not refused before.
	var group []byte
	group = protowire.AppendTag(group, 1, protowire.BytesType)
	group = protowire.AppendString(group, "n")
	for range 1_000_001 {
		group = protowire.AppendTag(group, 3, protowire.BytesType)
		group = protowire.AppendBytes(group, nil)
	}
	bomb := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), Version)
	bomb = protowire.AppendBytes(protowire.AppendTag(bomb, 6, protowire.BytesType), group)
	rowBomb := zstdCompress(t, bomb)

	for _, tc := range []struct {
		name   string
		data   []byte
		limits Limits
		want   error
		says   string
	}{
		{"empty", nil, Limits{}, ErrMalformed, "empty body"},
		{"not zstd", []byte("hello, collector"), Limits{}, ErrMalformed, "not zstd-compressed"},
		{"truncated zstd", zstdCompress(t, good)[:20], Limits{}, ErrMalformed, "not zstd-compressed"},
		{"not protobuf", zstdCompress(t, []byte{0xff, 0xff, 0xff}), Limits{}, ErrMalformed, "not a protobuf"},
		{"no version", msg(func(m *wirepb.Batch) { m.Version = 0 }), Limits{}, ErrMalformed, "format version 0"},
		{"future version", msg(func(m *wirepb.Batch) { m.Version = 2 }), Limits{}, ErrMalformed, "format version 2"},
		{"no agent", msg(func(m *wirepb.Batch) { m.Agent = "" }), Limits{}, ErrMalformed, "no agent name"},
		{"no seq", msg(func(m *wirepb.Batch) { m.Seq = 0 }), Limits{}, ErrMalformed, "no sequence number"},
		{"device without node", msg(func(m *wirepb.Batch) { m.Devices[1].Node = "" }), Limits{}, ErrMalformed, "device sample 1 has no node"},
		{"group without node", msg(func(m *wirepb.Batch) { m.Interfaces[0].Node = "" }), Limits{}, ErrMalformed, "interface group 0 has no node"},
		{"event without kind", msg(func(m *wirepb.Batch) { m.Events[0].Kind = "" }), Limits{}, ErrMalformed, "has no kind"},
		{"unknown status", msg(func(m *wirepb.Batch) { m.Interfaces[0].Samples[0].OperStatus = 9 }), Limits{}, ErrMalformed, "oper interface status 9"},
		{"negative ifIndex", msg(func(m *wirepb.Batch) { m.Interfaces[0].Samples[0].IfIndex = -1 }), Limits{}, ErrMalformed, "ifIndex -1 is out of range"},
		{"huge ifIndex", msg(func(m *wirepb.Batch) { m.Events[0].IfIndex = 1 << 40 }), Limits{}, ErrMalformed, "out of range"},
		{"compressed over the limit", zstdCompress(t, good), Limits{MaxCompressed: 100}, ErrTooLarge, "compressed, the limit is 100"},
		{"bomb with size", zstdCompress(t, zeros), small, ErrTooLarge, "decompressed"},
		{"bomb without size", streamed.Bytes(), small, ErrTooLarge, "decompressed"},
		{"more rows than the limit", zstdCompress(t, good), Limits{MaxRows: 2}, ErrTooManyRows, "too many rows: 8 (device samples, interface samples, events), the limit is 2"},
		{"row bomb", rowBomb, Limits{}, ErrTooManyRows, "too many rows: 1000001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Decode(tc.data, tc.limits)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", b)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	big := fixture()
	for range 12 {
		big.Samples = append(big.Samples, big.Samples...)
	}
	for _, tc := range []struct {
		name   string
		edit   func(b *Batch)
		limits Limits
		says   string
	}{
		{"no agent", func(b *Batch) { b.Agent = "" }, Limits{}, "no agent name"},
		{"no seq", func(b *Batch) { b.Seq = 0 }, Limits{}, "no sequence number"},
		{"bad status", func(b *Batch) { b.Samples[0].AdminStatus = "sideways" }, Limits{}, `"sideways" is none of IF-MIB's`},
		{"time out of range", func(b *Batch) { b.Events[0].Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, Limits{}, "out of range"},
		{"too large", func(b *Batch) { *b = *big }, Limits{MaxDecompressed: 64 << 10}, "before compression, the limit is 65536"},
		{"too large compressed", func(*Batch) {}, Limits{MaxCompressed: 100}, "compressed, the limit is 100"},
		{"too many rows", func(*Batch) {}, Limits{MaxRows: 2}, "rows, the limit is 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fixture()
			tc.edit(b)
			e, err := NewEncoder(tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Encode(b)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %v, want one saying %q", err, tc.says)
			}
		})
	}
}

// TestZeroTimes: an absent time is no time, not 1970.
func TestZeroTimes(t *testing.T) {
	b := &Batch{Agent: "a", Seq: 1, Events: []model.Event{{Node: "n", Kind: model.EventFlap}}}
	body, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.IsZero() || !got.Events[0].Time.IsZero() {
		t.Errorf("zero times came back as %v and %v", got.Created, got.Events[0].Time)
	}
}

// FuzzDecode: no input makes Decode panic or allocate past its limits,
// and what it accepts encodes again to the same batch.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{goldenV1, goldenLabels} {
		golden, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(golden)
	}
	f.Add([]byte{})
	f.Add(zstdCompress(f, []byte{0x08, 0x01, 0x12, 0x01, 'a', 0x18, 0x01}))
	limits := Limits{MaxCompressed: 1 << 20, MaxDecompressed: 4 << 20}
	dec, err := NewDecoder(limits)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := NewEncoder(limits)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := dec.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		again, err := enc.Encode(b)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		b2, err := dec.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if diff := cmp.Diff(b, b2, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the batch:\n%s", diff)
		}
	})
}

// realistic is a batch as an agent cuts it: devices × ifaces interface
// samples of one poll each, with rates, counters and names like real ones.
func realistic(devices, ifaces int) *Batch {
	t := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	b := &Batch{Agent: "par1-a", Seq: 1000, Created: t.Add(time.Second)}
	for d := range devices {
		node := fmt.Sprintf("par1-sw-%03d", d)
		pt := t.Add(time.Duration(d) * 7 * time.Millisecond)
		b.Devices = append(b.Devices, model.DeviceSample{Node: node, Time: pt, Reachable: true,
			UptimeSeconds: int64(3_000_000 + d), PollDurationSeconds: 0.0123, Interfaces: ifaces,
			SysName: node + ".par1.example.net", SysDescr: "Arista Networks EOS version 4.30.1F running on an Arista DCS-7280SR",
			SysObjectID: "1.3.6.1.4.1.30065.1.3011.7280.2.3", Vendor: model.VendorArista})
		for i := range ifaces {
			x := uint64(d*ifaces + i + 1)
			in, out := float64(x*7919%1_000_000_000), float64(x*104729%1_000_000_000)
			b.Samples = append(b.Samples, model.Sample{Node: node, Time: pt, IfIndex: i + 1,
				IfName: fmt.Sprintf("Ethernet1/%d", i+1), Descr: fmt.Sprintf("Ethernet1/%d", i+1),
				Alias: fmt.Sprintf("to par1-srv-%03d eth0", (d*ifaces+i)%997), Type: "ethernetCsmacd", IntervalSeconds: 30.001,
				AdminStatus: model.IfUp, OperStatus: model.IfUp, SpeedBps: 10_000_000_000, Counter64: true,
				InOctets: x * 982451653 * 1000, OutOctets: x * 961748941 * 1000, InPkts: x * 15485863, OutPkts: x * 32452843,
				InErrors: x % 7, InDiscards: x % 13,
				Rates: model.Rates{InBps: f64(in), OutBps: f64(out), InPps: f64(in / 8 / 700), OutPps: f64(out / 8 / 700),
					InErrorsRate: f64(0), OutErrorsRate: f64(0), InDiscardsRate: f64(math.Round(float64(x%5) / 30 * 1000)), OutDiscardsRate: f64(0)},
			})
		}
	}
	return b
}

// BenchmarkEncode and BenchmarkDecode: one agent batch of 100 devices ×
// 48 interfaces. B/ifsample is the compressed size per interface sample.
func BenchmarkEncode(b *testing.B) {
	batch := realistic(100, 48)
	enc, err := NewEncoder(Limits{})
	if err != nil {
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		body, err := enc.Encode(batch)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size)/float64(len(batch.Samples)), "B/ifsample")
	b.ReportMetric(float64(len(rawProtoB(b, batch)))/float64(len(batch.Samples)), "rawB/ifsample")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
}

func BenchmarkDecode(b *testing.B) {
	batch := realistic(100, 48)
	body, err := Encode(batch)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := NewDecoder(Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := dec.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/batch")
}

func rawProtoB(b *testing.B, batch *Batch) []byte {
	b.Helper()
	m, err := toProto(batch)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := proto.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// FuzzDecodeMessage fuzzes the protobuf inside the compression, which
// random bytes seldom get through to in FuzzDecode. The decoder must
// agree with the reference, proto.Unmarshal and fromProto (sameDecoding).
func FuzzDecodeMessage(f *testing.F) {
	f.Add(rawProtoF(f, fixture()))
	f.Add([]byte{0x08, 0x01, 0x12, 0x01, 'a', 0x18, 0x01})
	f.Add(rawProtoF(f, edgeBatch()))
	f.Add(handBatch(nil))
	f.Add(handBatch(map[string][]byte{"sample": pbGroup(30, pbVarint(1, 1)), "event": pbBytes(9, "\x10\x05")}))
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	dec, err := NewDecoder(Limits{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !sameDecoding(t, "fuzzed message", raw) {
			return
		}
		b, err := dec.Decode(zw.EncodeAll(raw, nil))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		body, err := Encode(b)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		b2, err := dec.Decode(body)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if diff := cmp.Diff(b, b2, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip changed the batch:\n%s", diff)
		}
	})
}

func rawProtoF(f *testing.F, b *Batch) []byte {
	f.Helper()
	m, err := toProto(b)
	if err != nil {
		f.Fatal(err)
	}
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	return raw
}
