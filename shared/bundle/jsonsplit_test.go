package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitter(t *testing.T) {
	in := []byte(` { "a" : 1 , "b\"}" :"x,]}\\" ,"c":{"d":[1,{"e":"]"}]},"\u0066":[ ],"n":null,"t":true, "x" : -1.5e3 } `)
	got := splitReference(t, in)
	want := []string{`a=1`, `b"}="x,]}\\"`, `c={"d":[1,{"e":"]"}]}`, `f=[ ]`, `n=null`, `t=true`, `x=-1.5e3`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, splitMembers(in)); d != "" {
		t.Errorf("members differ from encoding/json's (-want +got):\n%s", d)
	}
	var els []string
	elements([]byte(`[ {"a":"]"} , [1,2],"s" ,3,null]`), func(i int, v []byte) { els = append(els, fmt.Sprintf("%d=%s", i, v)) })
	if d := cmp.Diff([]string{`0={"a":"]"}`, `1=[1,2]`, `2="s"`, `3=3`, `4=null`}, els); d != "" {
		t.Errorf("elements (-want +got):\n%s", d)
	}
	for _, empty := range []string{`{}`, ` { } `, `[]`, `[ ]`} {
		members([]byte(empty), func(k string, v []byte) { t.Errorf("%s: member %s", empty, k) })
		elements([]byte(empty), func(i int, v []byte) { t.Errorf("%s: element %d", empty, i) })
	}
}

func splitMembers(data []byte) []string {
	var out []string
	members(data, func(k string, v []byte) { out = append(out, k+"="+string(v)) })
	return out
}

// splitReference is what encoding/json's tokenizer makes of the members
// of a valid JSON object.
func splitReference(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string)+"="+string(raw))
	}
	return out
}
