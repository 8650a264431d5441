// Package ring assigns keys (node ids) to members (agents) by consistent
// hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018).
//
//	a := ring.Assign(members, nodes, ring.DefaultConfig())
//	owner, _ := a.Owner("node-17")
//	mine := a.Owned("agent-2")
//
// Every member sits on a 64-bit hash ring at VirtualNodes points. A key
// goes to the first member clockwise from its own hash that still has
// room; a member has room while it holds fewer than
// ceil(LoadFactor × keys / members) keys. With LoadFactor 1.25 no member
// holds more than 25 % above the mean (plus one key of rounding), and
// because most keys find their nearest member with room, a change of
// members moves few keys: on a join about 1/N of them (to the newcomer),
// on a loss the lost member's keys and a few more.
//
// With bounded loads the owner of a key depends on which keys were placed
// before it. Keys are therefore placed in one fixed order, by a second hash
// of the key (ties broken by the key itself), so the assignment is a
// function of the member set and the key set alone: every agent that sees
// the same members and nodes computes the same map, in any input order,
// without talking to the others. The order hash is independent of the ring
// position, so the keys that overflow a full member are spread around the
// ring instead of piling up at its end.
//
// The package is pure: no goroutines, no state between calls. Assigning
// 10,000 keys to 10 members takes about a millisecond.
package ring

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Config tunes an assignment. The zero value means the defaults.
type Config struct {
	// LoadFactor bounds every member's load to ceil(LoadFactor × mean).
	// Closer to 1 balances better but moves more keys when members change
	// (keys overflow further from their natural owner). Must be ≥ 1;
	// default 1.25.
	LoadFactor float64 `yaml:"load-factor"`
	// VirtualNodes is the number of ring points per member. More points
	// spread members more evenly (fewer keys hit the bound, so fewer move
	// on a change) at a small cost per assignment. Default 160.
	VirtualNodes int `yaml:"virtual-nodes"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{LoadFactor: 1.25, VirtualNodes: 160}
}

// Validate reports a configuration that Assign would have to correct.
func (c Config) Validate() error {
	if c.LoadFactor != 0 && (c.LoadFactor < 1 || math.IsNaN(c.LoadFactor) || math.IsInf(c.LoadFactor, 0)) {
		return fmt.Errorf("ring load factor %v: must be at least 1 (1.25 lets a member hold 25 %% above the mean)", c.LoadFactor)
	}
	if c.VirtualNodes < 0 || c.VirtualNodes > 10000 {
		return fmt.Errorf("ring virtual nodes %d: must be between 1 and 10000 (0 for the default, 160)", c.VirtualNodes)
	}
	return nil
}

// normalized fills defaults and clamps what Validate would reject, so that
// Assign always returns a complete assignment.
func (c Config) normalized() Config {
	d := DefaultConfig()
	if c.LoadFactor == 0 || math.IsNaN(c.LoadFactor) {
		c.LoadFactor = d.LoadFactor
	}
	c.LoadFactor = max(c.LoadFactor, 1)
	if c.VirtualNodes <= 0 {
		c.VirtualNodes = d.VirtualNodes
	}
	c.VirtualNodes = min(c.VirtualNodes, 10000)
	return c
}

// Assignment maps every key to one member. It is immutable.
type Assignment struct {
	members  []string            // sorted, distinct
	owner    map[string]string   // key → member
	owned    map[string][]string // member → keys in placement order
	capacity int
}

// point is one virtual node: a position on the ring and its member.
type point struct {
	hash   uint64
	member int32 // index in the sorted member list
}

// placed is a key with its ring position and its place in the order.
type placed struct {
	key   string
	pos   uint64
	order uint64
}

// Assign maps keys to members. Duplicates and the order of either slice do
// not matter; empty member names are ignored. With no members every key is
// unowned. The configuration is used as normalized (zero fields are the
// defaults, a LoadFactor below 1 counts as 1): check it with Validate.
func Assign(members, keys []string, cfg Config) *Assignment {
	cfg = cfg.normalized()
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if len(ms) > 0 && ms[0] == "" {
		ms = ms[1:]
	}
	a := &Assignment{
		members: ms,
		owner:   make(map[string]string, len(keys)),
		owned:   make(map[string][]string, len(ms)),
	}
	if len(ms) == 0 || len(keys) == 0 {
		return a
	}

	ks := make([]placed, 0, len(keys))
	for _, k := range keys {
		h := hashString(k)
		ks = append(ks, placed{key: k, pos: mix(h), order: mix(h + orderSeed)})
	}
	slices.SortFunc(ks, func(x, y placed) int {
		if x.order != y.order {
			return cmp.Compare(x.order, y.order)
		}
		return strings.Compare(x.key, y.key)
	})
	ks = slices.CompactFunc(ks, func(x, y placed) bool { return x.key == y.key })

	points := make([]point, 0, len(ms)*cfg.VirtualNodes)
	var buf []byte
	for i, m := range ms {
		for v := range cfg.VirtualNodes {
			buf = append(append(append(buf[:0], m...), 0), strconv.Itoa(v)...)
			points = append(points, point{hash: mix(hashBytes(buf)), member: int32(i)})
		}
	}
	// Ties between points (vanishingly rare) go to the smaller member, so
	// the ring does not depend on the sort's stability.
	slices.SortFunc(points, func(x, y point) int {
		if x.hash != y.hash {
			return cmp.Compare(x.hash, y.hash)
		}
		return cmp.Compare(x.member, y.member)
	})

	// The positions apart from their members, for a binary search on
	// plain integers.
	hashes := make([]uint64, len(points))
	for i, p := range points {
		hashes[i] = p.hash
	}

	// Never more than all the keys (a huge LoadFactor would overflow),
	// never fewer than an even split (floating-point rounding must not
	// leave a key without room).
	bound := math.Ceil(cfg.LoadFactor * float64(len(ks)) / float64(len(ms)))
	a.capacity = max(int(min(bound, float64(len(ks)))), (len(ks)+len(ms)-1)/len(ms))
	loads := make([]int, len(ms))
	assigned := make([]int32, len(ks))
	for i, k := range ks {
		// First point at or after the key's position, wrapping round.
		j, _ := slices.BinarySearch(hashes, k.pos)
		// capacity × members ≥ keys, so a member with room always exists
		// and the walk ends within one turn.
		for loads[points[j%len(points)].member] >= a.capacity {
			j++
		}
		m := points[j%len(points)].member
		loads[m]++
		assigned[i] = m
	}

	for i, m := range ms {
		a.owned[m] = make([]string, 0, loads[i])
	}
	for i, k := range ks {
		m := ms[assigned[i]]
		a.owner[k.key] = m
		a.owned[m] = append(a.owned[m], k.key)
	}
	return a
}

// Owner returns the member that owns key, and false for a key that was not
// assigned (unknown, or there were no members).
func (a *Assignment) Owner(key string) (string, bool) {
	m, ok := a.owner[key]
	return m, ok
}

// Owned returns the keys member owns, in placement order (the same on every
// agent, but not sorted: sorting every member's keys would double the cost
// of Assign for the benefit of one). The slice is shared: do not modify it.
func (a *Assignment) Owned(member string) []string {
	return a.owned[member]
}

// Members returns the distinct members, sorted. The slice is shared: do not
// modify it.
func (a *Assignment) Members() []string {
	return a.members
}

// Len returns the number of keys assigned.
func (a *Assignment) Len() int {
	return len(a.owner)
}

// Capacity returns the most keys any member may hold:
// ceil(LoadFactor × keys / members), 0 with no keys or no members.
func (a *Assignment) Capacity() int {
	return a.capacity
}

// Map returns a copy of the key → member map.
func (a *Assignment) Map() map[string]string {
	out := make(map[string]string, len(a.owner))
	for k, m := range a.owner {
		out[k] = m
	}
	return out
}

// Moved returns the keys whose owner differs between a and b (including
// keys present in only one of them), sorted. It is how a member learns
// what it gained and lost, and how the tests measure churn.
func Moved(a, b *Assignment) []string {
	var out []string
	for k, m := range a.owner {
		if n, ok := b.owner[k]; !ok || n != m {
			out = append(out, k)
		}
	}
	for k := range b.owner {
		if _, ok := a.owner[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Hashing: 64-bit FNV-1a, then a finalizer to spread FNV's weak high bits
// over the ring (murmur3's fmix64). Fixed forever: changing it would change
// every agent's map, and agents of different versions must agree during an
// upgrade.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// orderSeed makes the placement order a different permutation of the
	// keys than their ring positions (the golden ratio's bits, as usual).
	orderSeed = 0x9e3779b97f4a7c15
)

func hashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93e185ec53b
	h ^= h >> 33
	return h
}
