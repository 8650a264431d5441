package wasmgen

import (
	"regexp"
	"testing"

	"github.com/unet-project/unet/collector/policy/abi"
	"github.com/unet-project/unet/collector/policy/lang"
)

var regexCases = []struct {
	pattern, flags string
	check          litCheck
	lit            string
	exact          bool
}{
	{"^ge-", "", checkPrefix, "ge-", true},
	{"dc1$", "", checkSuffix, "dc1", true},
	{"^core1$", "", checkEqual, "core1", true},
	{"^$", "", checkEqual, "", true},
	{"abc", "", checkContains, "abc", true},
	{"(abc)", "", checkContains, "abc", true},
	{"^(?:é)", "", checkPrefix, "é", true},
	{"^core-[a-z]+[0-9]+\\.", "", checkPrefix, "core-", false},
	{"[0-9]+\\.net$", "", checkSuffix, ".net", false},
	{"x[0-9]yz+", "", checkContains, "x", false},
	{"^(MX|PTX|QFX)", "i", checkFirst, "", false},
	{"^[a-c]+x", "", checkContains, "x", false},
	{"^[a-c]+[0-9]", "", checkFirst, "", false},
	{"^ge-", "i", checkFirst, "", false},
	{"^ge-", "m", checkContains, "ge-", false}, // ^ at any line start
	{"^a*", "", checkNone, "", false},          // may match empty
	{"(?s).", "", checkNone, "", false},
	{"^\\b[xy]", "", checkNone, "", false},
	{"^\uFFFD", "", checkFirst, "", false},
}

func TestPlanRegex(t *testing.T) {
	for _, tc := range regexCases {
		t.Run(tc.flags+"/"+tc.pattern, func(t *testing.T) {
			p := planRegex(abi.Regex{Pattern: tc.pattern, Flags: tc.flags})
			if p.check != tc.check || p.lit != tc.lit || p.exact != tc.exact {
				t.Errorf("plan = {%d %q exact %v}, want {%d %q exact %v}", p.check, p.lit, p.exact, tc.check, tc.lit, tc.exact)
			}
			if (p.check == checkFirst) != (p.first != nil) {
				t.Errorf("first-byte table %v with check %d", p.first != nil, p.check)
			}
		})
	}
}

// TestMatchesPlans runs every regex of regexCases in a module over strings
// built to pass and fail each kind of check (invalid UTF-8 included) and
// requires Go's regexp answer.
func TestMatchesPlans(t *testing.T) {
	strs := []string{
		"", "ge-", "ge-0/0/1", "GE-1", "xge-1", "a\nge-1", "r1.dc1", "dc1", "dc12", "core1", "core1\n",
		"abc", "xxabcxx", "ab", "é", "éa", "\xc3", "\xc3\xa9", "\xff\xc3\xa9", "\xe9\xc3\xa9",
		"core-dc3a12.", "core-dc312", "core-.", "r1.net", "x1.net", "1.net", "x1yzz", "x1y", "MX204", "qfx5120",
		"ptx", "srx", "aaax", "cx", "dx", "b7", "d7", "y", "a", "x", "\uFFFD", "\xffx",
	}
	b := newBuilder()
	f := b.field("node.name", abi.TypeString)
	for _, tc := range regexCases {
		b.rule(tc.flags+"/"+tc.pattern, cmpe(f, lang.Matches, b.regex(tc.pattern, tc.flags)), apply("t"))
	}
	m := load(t, b.p)
	recs := make([][]abi.Value, len(strs))
	for i, s := range strs {
		recs[i] = []abi.Value{str(s)}
	}
	for r, re := range b.p.Regexes {
		pat := re.Pattern
		if re.Flags != "" {
			pat = "(?" + re.Flags + ")" + pat
		}
		want := regexp.MustCompile(pat)
		got := m.run(t, r, recs)
		for i, s := range strs {
			if (got[i] == OK) != want.MatchString(s) {
				t.Errorf("/%s/%s on %q: module %s, regexp %v", re.Pattern, re.Flags, s, got[i], want.MatchString(s))
			}
		}
	}
}
