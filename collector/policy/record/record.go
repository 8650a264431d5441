// Package record lays out the values a policy reads for one node: Build
// fills the slots of a record (one abi.Value per manifest field) from the
// node's desired state, its location and its newest observed state, and
// Render turns a value back into JSON for the actual and expected values
// of a verdict. The names are those of the field catalogue in
// collector/policy/lang; a name the catalogue does not know reads null.
package record

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/shared/model"
)

// Subject is everything a policy may read about one node.
type Subject struct {
	Node model.Node
	// Location is the node's location; LocationPath the locations from the
	// root down to it (the node's own location last; when it is missing
	// Location is appended). Either may be given alone: with neither, the
	// location.* fields are null.
	Location     *model.Location
	LocationPath []model.Location
	// Derived is the newest observed state, nil when the node was never
	// polled: the derived.* fields are null then.
	Derived *model.DeviceState
	// Now is the evaluation time, for derived.last_poll_age.
	Now time.Time
}

// Build returns the record of s for the given layout: value i is the
// value of fields[i]. A missing value is null: an unset desired-state
// string (model.Node leaves optional fields empty), a custom_data path
// that does not exist, any derived.* field without derived state, a rate
// no interface has.
func Build(fields []abi.Field, s Subject) []abi.Value {
	b := builder{s: s}
	rec := make([]abi.Value, len(fields))
	for i, f := range fields {
		rec[i], _ = b.value(f.Path)
	}
	return rec
}

type builder struct {
	s    Subject
	locs []model.Location // the location path, computed on first use
	done bool
}

// str is a string field: empty means unset, which reads null.
func str(s string) abi.Value {
	if s == "" {
		return abi.Null()
	}
	return abi.String(s)
}

func strList(ss []string) abi.Value {
	if len(ss) == 0 {
		return abi.List() // one form for the empty list, nil
	}
	l := make([]abi.Value, len(ss))
	for i, s := range ss {
		l[i] = abi.String(s)
	}
	return abi.List(l...)
}

// value returns the value of path and whether the path is a field of the
// catalogue (the test checks that every catalogue field is handled).
func (b *builder) value(path string) (abi.Value, bool) {
	n := &b.s.Node
	switch {
	case strings.HasPrefix(path, "custom_data."):
		v, ok := n.CustomValue(strings.TrimPrefix(path, "custom_data."))
		if !ok {
			return abi.Null(), true
		}
		return fromJSON(v, true), true
	case strings.HasPrefix(path, "node."):
		switch path {
		case "node.name":
			return str(n.Name), true
		case "node.fqdn":
			// Normalize derives it; a node built in code may not have been
			// normalised.
			if n.FQDN == "" && n.Name != "" && n.Domain != "" {
				return abi.String(n.Name + "." + n.Domain), true
			}
			if n.FQDN == "" {
				return str(n.Name), true
			}
			return str(n.FQDN), true
		case "node.domain":
			return str(n.Domain), true
		case "node.vendor":
			return str(string(n.Vendor)), true
		case "node.model":
			return str(n.Model), true
		case "node.role":
			return str(string(n.Role)), true
		case "node.lifecycle":
			return str(string(n.Lifecycle)), true
		case "node.version":
			return str(n.Version), true
		case "node.serial":
			return str(n.Serial), true
		case "node.management_address":
			return str(n.ManagementAddress), true
		case "node.snmp_profile":
			return str(n.SNMPProfile), true
		case "node.tags":
			// A node without tags has an empty list, not null: tags are a
			// set, and "no tags" is a value of it.
			tags := slices.Clone(n.Tags)
			slices.Sort(tags)
			return strList(slices.Compact(tags)), true
		}
	case strings.HasPrefix(path, "location."):
		return b.location(path)
	case strings.HasPrefix(path, "derived."):
		return b.derived(path)
	}
	return abi.Null(), false
}

// locationPath returns the locations from the root to the node's.
func (b *builder) locationPath() []model.Location {
	if b.done {
		return b.locs
	}
	b.done = true
	b.locs = b.s.LocationPath
	if l := b.s.Location; l != nil && (len(b.locs) == 0 || b.locs[len(b.locs)-1].Name != l.Name) {
		b.locs = append(slices.Clone(b.locs), *l)
	}
	return b.locs
}

func (b *builder) location(path string) (abi.Value, bool) {
	locs := b.locationPath()
	var here *model.Location
	if len(locs) > 0 {
		here = &locs[len(locs)-1]
	}
	switch path {
	case "location.name":
		if here == nil {
			return abi.Null(), true
		}
		return str(here.Name), true
	case "location.kind":
		if here == nil {
			return abi.Null(), true
		}
		return str(string(here.Kind)), true
	case "location.path":
		if here == nil {
			return abi.Null(), true
		}
		names := make([]string, len(locs))
		for i, l := range locs {
			names[i] = l.Name
		}
		return abi.String(strings.Join(names, "/")), true
	case "location.site":
		for i := len(locs) - 1; i >= 0; i-- {
			if locs[i].Kind == model.KindSite {
				return str(locs[i].Name), true
			}
		}
		return abi.Null(), true
	}
	return abi.Null(), false
}

func (b *builder) derived(path string) (abi.Value, bool) {
	if b.s.Derived == nil {
		// Whether the name is known does not depend on the state.
		_, known := derived(&model.DeviceState{}, b.s.Now, path)
		return abi.Null(), known
	}
	return derived(b.s.Derived, b.s.Now, path)
}

func derived(d *model.DeviceState, now time.Time, path string) (abi.Value, bool) {
	if name, ok := strings.CutPrefix(path, "derived.extra."); ok {
		v, ok := d.Extra[name]
		if !ok || math.IsNaN(v) {
			return abi.Null(), true
		}
		return abi.Number(v), true
	}
	var v abi.Value
	switch path {
	case "derived.reachable":
		v = abi.Bool(d.Reachable)
	case "derived.uptime":
		v = abi.Number(float64(d.UptimeSeconds))
	case "derived.sys_name":
		v = str(d.SysName)
	case "derived.sys_descr":
		v = str(d.SysDescr)
	case "derived.sys_object_id":
		v = str(d.SysObjectID)
	case "derived.vendor":
		v = str(string(d.Vendor))
	case "derived.last_poll_age":
		if d.LastPoll.IsZero() || now.IsZero() {
			return abi.Null(), true
		}
		v = abi.Number(now.Sub(d.LastPoll).Seconds())
	case "derived.interfaces.count":
		v = abi.Number(float64(len(d.Interfaces)))
	case "derived.interfaces.up":
		v = countIf(d.Interfaces, func(i *model.InterfaceState) bool { return i.OperStatus == model.IfUp })
	case "derived.interfaces.down":
		v = countIf(d.Interfaces, func(i *model.InterfaceState) bool {
			return i.AdminStatus == model.IfUp && i.OperStatus != model.IfUp
		})
	case "derived.interfaces.admin_down":
		v = countIf(d.Interfaces, func(i *model.InterfaceState) bool { return i.AdminStatus == model.IfDown })
	case "derived.interfaces.errors_in_rate":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return i.InErrorsRate })
	case "derived.interfaces.errors_out_rate":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return i.OutErrorsRate })
	case "derived.interfaces.discards_in_rate":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return i.InDiscardsRate })
	case "derived.interfaces.discards_out_rate":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return i.OutDiscardsRate })
	case "derived.interfaces.max_in_utilization":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return utilization(i.InBps, i.SpeedBps) })
	case "derived.interfaces.max_out_utilization":
		v = maxRate(d.Interfaces, func(i *model.InterfaceState) *float64 { return utilization(i.OutBps, i.SpeedBps) })
	case "derived.lldp.neighbors":
		v = abi.Number(float64(len(d.LLDPNeighbors)))
	case "derived.lldp.neighbor_names":
		names := make([]string, 0, len(d.LLDPNeighbors))
		for _, nb := range d.LLDPNeighbors {
			if nb.SysName != "" {
				names = append(names, nb.SysName)
			}
		}
		slices.Sort(names)
		v = strList(slices.Compact(names))
	default:
		return abi.Null(), false
	}
	return v, true
}

func countIf(ifs []model.InterfaceState, pred func(*model.InterfaceState) bool) abi.Value {
	n := 0
	for i := range ifs {
		if pred(&ifs[i]) {
			n++
		}
	}
	return abi.Number(float64(n))
}

// maxRate is the largest of the interfaces' values, null when none has one.
func maxRate(ifs []model.InterfaceState, get func(*model.InterfaceState) *float64) abi.Value {
	best, found := 0.0, false
	for i := range ifs {
		r := get(&ifs[i])
		if r == nil || math.IsNaN(*r) {
			continue
		}
		if !found || *r > best {
			best, found = *r, true
		}
	}
	if !found {
		return abi.Null()
	}
	return abi.Number(best)
}

// utilization is bps as a percentage of the interface's speed; nil
// without a rate or a known speed.
func utilization(bps *float64, speed uint64) *float64 {
	if bps == nil || speed == 0 {
		return nil
	}
	u := *bps * 100 / float64(speed)
	return &u
}

// fromJSON converts a custom_data value: the scalars of encoding/json (and
// the Go types a node built in code may hold), lists of them; an object,
// or a list inside a list (top is false), is KindOther.
func fromJSON(v any, top bool) abi.Value {
	switch x := v.(type) {
	case nil:
		return abi.Null()
	case bool:
		return abi.Bool(x)
	case string:
		return abi.String(x)
	case float64:
		return abi.Number(x)
	case float32:
		return abi.Number(float64(x))
	case int:
		return abi.Number(float64(x))
	case int64:
		return abi.Number(float64(x))
	case int32:
		return abi.Number(float64(x))
	case uint64:
		return abi.Number(float64(x))
	case uint32:
		return abi.Number(float64(x))
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return abi.Other()
		}
		return abi.Number(f)
	case []any:
		if !top {
			return abi.Other()
		}
		if len(x) == 0 {
			return abi.List()
		}
		l := make([]abi.Value, len(x))
		for i, e := range x {
			l[i] = fromJSON(e, false)
		}
		return abi.List(l...)
	case []string:
		if !top {
			return abi.Other()
		}
		return strList(x)
	}
	return abi.Other()
}

// Render returns v as a JSON-friendly Go value: nil, bool, float64,
// string or []any. KindOther, whose content a record does not carry, is
// rendered as the string "(object)".
func Render(v abi.Value) any {
	switch v.Kind {
	case abi.KindNull:
		return nil
	case abi.KindBool:
		return v.Number != 0
	case abi.KindNumber:
		return v.Number
	case abi.KindString:
		return v.Str
	case abi.KindList:
		l := make([]any, len(v.List))
		for i, e := range v.List {
			l[i] = Render(e)
		}
		return l
	}
	return "(object)"
}
