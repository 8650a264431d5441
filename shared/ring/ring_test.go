package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
)

// names returns n distinct names made from r, shaped like the node ids
// (UUIDs) and agent names the ring sees in production.
func names(r *rand.Rand, prefix string, n int) []string {
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		s := fmt.Sprintf("%s%08x-%04x-%04x-%012x", prefix, r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func shuffled(r *rand.Rand, s []string) []string {
	s = slices.Clone(s)
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s
}

// checkInvariants checks what holds for every assignment: every key owned
// by exactly one member of the set, Owner and Owned agree, no member above
// the capacity, and the capacity is the documented bound.
func checkInvariants(t *testing.T, a *Assignment, members, keys []string, cfg Config) {
	t.Helper()
	distinctKeys := slices.Compact(slices.Sorted(slices.Values(keys)))
	distinctMembers := slices.Compact(slices.Sorted(slices.Values(members)))
	if len(distinctMembers) > 0 && distinctMembers[0] == "" {
		distinctMembers = distinctMembers[1:]
	}
	if !slices.Equal(a.Members(), distinctMembers) {
		t.Fatalf("Members() = %v, want %v", a.Members(), distinctMembers)
	}
	if len(distinctMembers) == 0 {
		if a.Len() != 0 {
			t.Fatalf("no members but %d keys assigned", a.Len())
		}
		return
	}
	if a.Len() != len(distinctKeys) {
		t.Fatalf("Len() = %d, want %d", a.Len(), len(distinctKeys))
	}
	cfg = cfg.normalized()
	wantCap := 0
	if len(distinctKeys) > 0 {
		wantCap = int(min(math.Ceil(cfg.LoadFactor*float64(len(distinctKeys))/float64(len(distinctMembers))), float64(len(distinctKeys))))
	}
	if a.Capacity() != wantCap {
		t.Fatalf("Capacity() = %d, want %d", a.Capacity(), wantCap)
	}
	total := 0
	for _, m := range distinctMembers {
		owned := a.Owned(m)
		if len(owned) > a.Capacity() {
			t.Fatalf("member %s owns %d keys, above the bound %d", m, len(owned), a.Capacity())
		}
		for _, k := range owned {
			if o, ok := a.Owner(k); !ok || o != m {
				t.Fatalf("key %s in Owned(%s) but Owner says %q, %v", k, m, o, ok)
			}
		}
		total += len(owned)
	}
	if total != len(distinctKeys) {
		t.Fatalf("members own %d keys in all, want %d", total, len(distinctKeys))
	}
}

func TestAssignSmallCases(t *testing.T) {
	cases := []struct {
		name    string
		members []string
		keys    []string
	}{
		{"nothing", nil, nil},
		{"no members", nil, []string{"a", "b"}},
		{"only an empty member name", []string{""}, []string{"a", "b"}},
		{"no keys", []string{"x", "y"}, nil},
		{"one member", []string{"x"}, []string{"a", "b", "c"}},
		{"duplicates", []string{"x", "y", "x", ""}, []string{"a", "b", "a", "c", "c"}},
		{"more members than keys", []string{"p", "q", "r", "s", "t"}, []string{"a", "b"}},
		{"empty key", []string{"x", "y"}, []string{"", "a"}},
		{"one key, one member", []string{"x"}, []string{"a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Assign(tc.members, tc.keys, Config{})
			checkInvariants(t, a, tc.members, tc.keys, Config{})
		})
	}
}

func TestAssignOneKeyEachWhenCapacityIsOne(t *testing.T) {
	// 5 keys, 5 members, LoadFactor 1: capacity 1, so a perfect spread,
	// however the hashes fall.
	a := Assign([]string{"a", "b", "c", "d", "e"}, []string{"1", "2", "3", "4", "5"}, Config{LoadFactor: 1})
	for _, m := range a.Members() {
		if got := len(a.Owned(m)); got != 1 {
			t.Errorf("member %s owns %d keys, want 1", m, got)
		}
	}
}

func TestAssignIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		members := names(r, "agent-", 1+r.IntN(15))
		keys := names(r, "", r.IntN(3000))
		cfg := Config{LoadFactor: 1 + r.Float64(), VirtualNodes: 1 + r.IntN(300)}
		want := Assign(members, keys, cfg).Map()
		// Every agent sees the same sets in its own order, sometimes with
		// duplicates (a node listed twice, a member seen twice).
		for range 3 {
			m := shuffled(r, append(slices.Clone(members), members[:r.IntN(len(members)+1)]...))
			k := shuffled(r, append(slices.Clone(keys), keys[:r.IntN(len(keys)+1)]...))
			got := Assign(m, k, cfg).Map()
			if len(got) != len(want) {
				t.Fatalf("trial %d: %d keys assigned, then %d", trial, len(want), len(got))
			}
			for key, owner := range want {
				if got[key] != owner {
					t.Fatalf("trial %d: key %s owned by %s, then by %s after shuffling the inputs", trial, key, owner, got[key])
				}
			}
		}
	}
}

// TestAssignIsStableAcrossVersions pins a few owners: the hash and the
// placement order are part of the protocol between agents, since agents of
// two versions run side by side during an upgrade and must agree. If this
// fails, the change breaks mixed-version clusters.
func TestAssignIsStableAcrossVersions(t *testing.T) {
	members := []string{"agent-a", "agent-b", "agent-c"}
	var keys []string
	for i := range 1000 {
		keys = append(keys, fmt.Sprintf("node-%04d", i))
	}
	a := Assign(members, keys, DefaultConfig())
	var digest []byte
	for _, k := range keys {
		o, _ := a.Owner(k)
		digest = append(digest, o[len(o)-1])
	}
	got := fmt.Sprintf("%d %d %d %x", len(a.Owned("agent-a")), len(a.Owned("agent-b")), len(a.Owned("agent-c")), hashBytes(digest))
	const want = "305 346 349 f0a3c9e53cf4e40b"
	if got != want {
		t.Errorf("assignment of 1,000 keys to 3 members = %q, want %q: the hash or the placement order changed", got, want)
	}
}

func TestAssignRespectsTheBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		members := names(r, "agent-", 1+r.IntN(40))
		keys := names(r, "", r.IntN(2000))
		cfg := Config{LoadFactor: []float64{1, 1.05, 1.25, 2}[r.IntN(4)], VirtualNodes: []int{1, 10, 160}[r.IntN(3)]}
		a := Assign(members, keys, cfg)
		t.Run(fmt.Sprintf("trial%d", trial), func(t *testing.T) {
			checkInvariants(t, a, members, keys, cfg)
		})
	}
}

// churn is what one membership change did to an assignment.
type churn struct {
	moved    int // keys whose owner changed
	expected int // of those, keys that had to move: to the newcomer, or from the lost member
	keys     int
}

func (c churn) movedFraction() float64 { return float64(c.moved) / float64(c.keys) }
func (c churn) spillFraction() float64 { return float64(c.moved-c.expected) / float64(c.keys) }

// measureJoin adds newcomer to members and counts the moves.
func measureJoin(members []string, newcomer string, keys []string, cfg Config) churn {
	before := Assign(members, keys, cfg)
	after := Assign(append(slices.Clone(members), newcomer), keys, cfg)
	c := churn{keys: len(keys)}
	for _, k := range Moved(before, after) {
		c.moved++
		if o, _ := after.Owner(k); o == newcomer {
			c.expected++
		}
	}
	return c
}

// measureLoss removes members[lost] and counts the moves.
func measureLoss(members []string, lost int, keys []string, cfg Config) churn {
	before := Assign(members, keys, cfg)
	after := Assign(slices.Delete(slices.Clone(members), lost, lost+1), keys, cfg)
	c := churn{keys: len(keys)}
	for _, k := range Moved(before, after) {
		c.moved++
		if o, _ := before.Owner(k); o == members[lost] {
			c.expected++
		}
	}
	return c
}

// TestChurn measures the keys moved by a join and by a loss, against the
// ideal 1/N, over many random member names, and bounds them. Run with -v
// for the figures.
func TestChurn(t *testing.T) {
	const keyCount, trials = 10000, 10
	cases := []struct {
		n          int     // members before a join, after a loss
		loadFactor float64 // 0: the default
		maxMoved   float64 // ceiling on the mean moved fraction, × ideal
		maxSpill   float64 // ceiling on the worst spill fraction
	}{
		{2, 0, 1.1, 0.01},
		{3, 0, 1.1, 0.01},
		{5, 0, 1.1, 0.01},
		{10, 0, 1.1, 0.01},
		{20, 0, 1.1, 0.01},
		{10, 1.05, 1.2, 0.03},
	}
	for _, tc := range cases {
		cfg := Config{LoadFactor: tc.loadFactor}
		t.Run(fmt.Sprintf("%d members, load factor %v", tc.n, cfg.normalized().LoadFactor), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.n), 5))
			keys := names(r, "", keyCount)
			ideal := 1 / float64(tc.n+1)
			var join, loss struct{ moved, spill, maxMoved, maxSpill float64 }
			for range trials {
				members := names(r, "agent-", tc.n+1)
				j := measureJoin(members[:tc.n], members[tc.n], keys, cfg)
				l := measureLoss(members, r.IntN(tc.n+1), keys, cfg)
				join.moved += j.movedFraction() / trials
				join.spill += j.spillFraction() / trials
				join.maxMoved = max(join.maxMoved, j.movedFraction())
				join.maxSpill = max(join.maxSpill, j.spillFraction())
				loss.moved += l.movedFraction() / trials
				loss.spill += l.spillFraction() / trials
				loss.maxMoved = max(loss.maxMoved, l.movedFraction())
				loss.maxSpill = max(loss.maxSpill, l.spillFraction())
			}
			t.Logf("join %d→%d: moved %.4f (max %.4f), ideal 1/%d = %.4f, ratio %.2f; spill between old members %.4f (max %.4f)",
				tc.n, tc.n+1, join.moved, join.maxMoved, tc.n+1, ideal, join.moved/ideal, join.spill, join.maxSpill)
			t.Logf("loss %d→%d: moved %.4f (max %.4f), ideal 1/%d = %.4f, ratio %.2f; spill between survivors %.4f (max %.4f)",
				tc.n+1, tc.n, loss.moved, loss.maxMoved, tc.n+1, ideal, loss.moved/ideal, loss.spill, loss.maxSpill)
			if join.moved > tc.maxMoved*ideal {
				t.Errorf("a join moved %.4f of the keys on average, above %.2f × 1/%d", join.moved, tc.maxMoved, tc.n+1)
			}
			if loss.moved > tc.maxMoved*ideal {
				t.Errorf("a loss moved %.4f of the keys on average, above %.2f × 1/%d", loss.moved, tc.maxMoved, tc.n+1)
			}
			if join.maxSpill > tc.maxSpill {
				t.Errorf("a join moved %.4f of the keys between old members, above %.4f", join.maxSpill, tc.maxSpill)
			}
			if loss.maxSpill > tc.maxSpill {
				t.Errorf("a loss moved %.4f of the keys between survivors, above %.4f", loss.maxSpill, tc.maxSpill)
			}
		})
	}
}

// TestLoadSpread reports how close to the mean the busiest member is, the
// figure the bound is there for.
func TestLoadSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	keys := names(r, "", 10000)
	for _, n := range []int{3, 10, 30} {
		worst := 0.0
		for range 10 {
			a := Assign(names(r, "agent-", n), keys, DefaultConfig())
			for _, m := range a.Members() {
				worst = max(worst, float64(len(a.Owned(m)))*float64(n)/float64(len(keys)))
			}
		}
		t.Logf("%d members, 10,000 keys: busiest member at %.3f × the mean (bound %.2f)", n, worst, DefaultConfig().LoadFactor)
		if worst > DefaultConfig().LoadFactor+float64(n)/float64(len(keys)) {
			t.Errorf("%d members: busiest member at %.3f × the mean, above the bound", n, worst)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{DefaultConfig(), true},
		{Config{LoadFactor: 1}, true},
		{Config{LoadFactor: 1e300}, true},
		{Config{LoadFactor: 0.9}, false},
		{Config{LoadFactor: math.NaN()}, false},
		{Config{LoadFactor: math.Inf(1)}, false},
		{Config{VirtualNodes: -1}, false},
		{Config{VirtualNodes: 20000}, false},
	}
	for _, tc := range cases {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tc.cfg, err, tc.ok)
		}
	}
}

func FuzzAssign(f *testing.F) {
	f.Add(uint64(1), uint8(3), uint16(100), 1.25)
	f.Add(uint64(2), uint8(1), uint16(0), 1.0)
	f.Fuzz(func(t *testing.T, seed uint64, nMembers uint8, nKeys uint16, lf float64) {
		r := rand.New(rand.NewPCG(seed, 0))
		members := names(r, "m", int(nMembers%50))
		keys := names(r, "", int(nKeys%3000))
		cfg := Config{LoadFactor: lf}
		checkInvariants(t, Assign(members, keys, cfg), members, keys, cfg)
	})
}

func BenchmarkAssign(b *testing.B) {
	for _, tc := range []struct{ members, keys int }{{10, 10000}, {3, 1000}, {30, 50000}} {
		b.Run(fmt.Sprintf("%dmembers-%dkeys", tc.members, tc.keys), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			members := names(r, "agent-", tc.members)
			keys := names(r, "", tc.keys)
			cpu := cpuTime()
			for b.Loop() {
				Assign(members, keys, DefaultConfig())
			}
			// The shared machines are busy: CPU time says more than
			// wall time.
			b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChurn reports the moved fractions of a 10→11 join and an 11→10
// loss with 10,000 keys as metrics, for bench/RESULTS.md.
func BenchmarkChurn(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	keys := names(r, "", 10000)
	var join, loss, joinSpill, lossSpill float64
	n := 0
	for b.Loop() {
		members := names(r, "agent-", 11)
		j := measureJoin(members[:10], members[10], keys, DefaultConfig())
		l := measureLoss(members, 0, keys, DefaultConfig())
		join += j.movedFraction()
		joinSpill += j.spillFraction()
		loss += l.movedFraction()
		lossSpill += l.spillFraction()
		n++
	}
	b.ReportMetric(join/float64(n), "join-moved/keys")
	b.ReportMetric(joinSpill/float64(n), "join-spill/keys")
	b.ReportMetric(loss/float64(n), "loss-moved/keys")
	b.ReportMetric(lossSpill/float64(n), "loss-spill/keys")
	b.ReportMetric(1.0/11, "ideal/keys")
}

func TestHugeLoadFactorIsPlainConsistentHashing(t *testing.T) {
	members, keys := []string{"a", "b", "c"}, []string{"1", "2", "3", "4", "5", "6", "7"}
	a := Assign(members, keys, Config{LoadFactor: 1e300})
	checkInvariants(t, a, members, keys, Config{LoadFactor: 1e300})
	if a.Capacity() != len(keys) {
		t.Errorf("Capacity() = %d, want %d (no bound)", a.Capacity(), len(keys))
	}
}
