package wire

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/unet-project/unet/shared/model"
	"github.com/unet-project/unet/shared/wire/internal/wirepb"
)

// The conversion of a Batch (model types) to the protobuf messages, for
// Encode, and the helpers decoding shares with it. Rate pointers are
// shared, not copied: model rates are read-only (see agent/derive).

// The range of times nanoseconds since 1970 in an int64 can hold.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time, what string) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s %s is out of range (years 1678 to 2262)", what, t)
	}
	return t.UnixNano(), nil
}

// fromUnixNano is the inverse of unixNano, in UTC.
func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// statusToProto maps an IfStatus; "" is the absent status.
func statusToProto(s model.IfStatus) (wirepb.IfStatus, error) {
	switch s {
	case "":
		return wirepb.IfStatus_IF_STATUS_UNSPECIFIED, nil
	case model.IfUp:
		return wirepb.IfStatus_IF_STATUS_UP, nil
	case model.IfDown:
		return wirepb.IfStatus_IF_STATUS_DOWN, nil
	case model.IfTesting:
		return wirepb.IfStatus_IF_STATUS_TESTING, nil
	case model.IfUnknown:
		return wirepb.IfStatus_IF_STATUS_UNKNOWN, nil
	case model.IfDormant:
		return wirepb.IfStatus_IF_STATUS_DORMANT, nil
	case model.IfNotPresent:
		return wirepb.IfStatus_IF_STATUS_NOT_PRESENT, nil
	case model.IfLowerLayerDown:
		return wirepb.IfStatus_IF_STATUS_LOWER_LAYER_DOWN, nil
	}
	return 0, fmt.Errorf("interface status %q is none of IF-MIB's", s)
}

// statusFromProto is the inverse of statusToProto. Protobuf enums are
// open: a value outside the list is an error, not a silent "unknown".
func statusFromProto(s wirepb.IfStatus) (model.IfStatus, error) {
	switch s {
	case wirepb.IfStatus_IF_STATUS_UNSPECIFIED:
		return "", nil
	case wirepb.IfStatus_IF_STATUS_UNKNOWN:
		return model.IfUnknown, nil
	}
	if s < 0 || s > wirepb.IfStatus_IF_STATUS_LOWER_LAYER_DOWN {
		return "", fmt.Errorf("interface status %d is none of IF-MIB's (1 to 7)", s)
	}
	return model.IfStatusFromSNMP(int64(s)), nil
}

// toProto converts b, checking what the collector would refuse.
func toProto(b *Batch) (*wirepb.Batch, error) {
	if b.Agent == "" {
		return nil, errors.New("no agent name")
	}
	if b.Seq == 0 {
		return nil, errors.New("no sequence number (they start at 1)")
	}
	created, err := unixNano(b.Created, "creation time")
	if err != nil {
		return nil, err
	}
	m := &wirepb.Batch{Version: Version, Agent: b.Agent, Seq: b.Seq, CreatedUnixNano: created}

	if len(b.Devices) > 0 {
		devs := make([]wirepb.DeviceSample, len(b.Devices))
		m.Devices = make([]*wirepb.DeviceSample, len(b.Devices))
		for i := range b.Devices {
			d := &b.Devices[i]
			t, err := unixNano(d.Time, "device sample time")
			if err != nil {
				return nil, fmt.Errorf("device sample of %q: %w", d.Node, err)
			}
			devs[i] = wirepb.DeviceSample{
				Node: d.Node, TimeUnixNano: t, Reachable: d.Reachable, Error: d.Error,
				UptimeSeconds: d.UptimeSeconds, PollDurationSeconds: d.PollDurationSeconds,
				Interfaces: int64(d.Interfaces), Extra: d.Extra,
				SysName: d.SysName, SysDescr: d.SysDescr, SysObjectId: d.SysObjectID, Vendor: string(d.Vendor),
			}
			m.Devices[i] = &devs[i]
		}
	}

	if len(b.Samples) > 0 {
		// One block for every sample's message: a batch holds thousands.
		rows := make([]wirepb.InterfaceSample, len(b.Samples))
		ptrs := make([]*wirepb.InterfaceSample, len(b.Samples))
		var g *wirepb.InterfaceGroup
		var gTime time.Time
		start := 0
		for i := range b.Samples {
			s := &b.Samples[i]
			if g == nil || s.Node != g.Node || !s.Time.Equal(gTime) {
				if g != nil {
					g.Samples = ptrs[start:i:i]
				}
				t, err := unixNano(s.Time, "interface sample time")
				if err != nil {
					return nil, fmt.Errorf("sample of %q: %w", s.Node, err)
				}
				g = &wirepb.InterfaceGroup{Node: s.Node, TimeUnixNano: t}
				gTime = s.Time
				m.Interfaces = append(m.Interfaces, g)
				start = i
			}
			admin, err := statusToProto(s.AdminStatus)
			if err != nil {
				return nil, fmt.Errorf("sample of %q ifIndex %d: admin %w", s.Node, s.IfIndex, err)
			}
			oper, err := statusToProto(s.OperStatus)
			if err != nil {
				return nil, fmt.Errorf("sample of %q ifIndex %d: oper %w", s.Node, s.IfIndex, err)
			}
			rows[i] = wirepb.InterfaceSample{
				IfIndex: int64(s.IfIndex), IfName: s.IfName, IntervalSeconds: s.IntervalSeconds,
				AdminStatus: admin, OperStatus: oper, SpeedBps: s.SpeedBps, Counter64: s.Counter64,
				InOctets: s.InOctets, OutOctets: s.OutOctets, InPkts: s.InPkts, OutPkts: s.OutPkts,
				InErrors: s.InErrors, OutErrors: s.OutErrors, InDiscards: s.InDiscards, OutDiscards: s.OutDiscards,
				Discontinuity: s.Discontinuity,
				InBps:         s.InBps, OutBps: s.OutBps, InPps: s.InPps, OutPps: s.OutPps,
				InErrorsRate: s.InErrorsRate, OutErrorsRate: s.OutErrorsRate,
				InDiscardsRate: s.InDiscardsRate, OutDiscardsRate: s.OutDiscardsRate,
				Descr: s.Descr, Alias: s.Alias, Type: s.Type,
			}
			ptrs[i] = &rows[i]
		}
		g.Samples = ptrs[start:]
	}

	if len(b.Events) > 0 {
		evs := make([]wirepb.Event, len(b.Events))
		m.Events = make([]*wirepb.Event, len(b.Events))
		for i := range b.Events {
			e := &b.Events[i]
			t, err := unixNano(e.Time, "event time")
			if err != nil {
				return nil, fmt.Errorf("event %s of %q: %w", e.Kind, e.Node, err)
			}
			evs[i] = wirepb.Event{
				TimeUnixNano: t, Node: e.Node, Kind: string(e.Kind), IfIndex: int64(e.IfIndex), IfName: e.IfName,
				From: e.From, To: e.To, Detail: e.Detail,
			}
			if n := e.Neighbor; n != nil {
				evs[i].Neighbor = &wirepb.LLDPNeighbor{
					LocalPort: n.LocalPort, LocalIfIndex: int64(n.LocalIfIndex), ChassisId: n.ChassisID,
					PortId: n.PortID, PortDescr: n.PortDescr, SysName: n.SysName,
				}
			}
			m.Events[i] = &evs[i]
		}
	}
	return m, nil
}

// toInt narrows a decoded integer to a model int: negative values and
// values past int32 (ifIndex is an Integer32) are refused.
func toInt(v int64, what string) (int, error) {
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("%s %d is out of range", what, v)
	}
	return int(v), nil
}
