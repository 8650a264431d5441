package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

// fuzzKinds are the model types request bodies decode into.
const fuzzKinds = 4

// decodeAs decodes body as the kind-th model type, the way POST and PUT do,
// then as a merge patch onto a stored object, the way PATCH does. It
// returns the encodings of what it decoded.
func decodeAs(kind uint8, body []byte) ([][]byte, error) {
	switch kind % fuzzKinds {
	case 0:
		return decodeBoth[model.Location](body, model.Location{Name: "par1", Kind: model.KindSite, Meta: model.Meta{ID: "x", Revision: 3}})
	case 1:
		retries := 2
		return decodeBoth[model.SNMPProfile](body, model.SNMPProfile{Name: "v3", Version: model.SNMPv3, User: "u",
			AuthProtocol: model.AuthSHA, AuthKey: "authkey-1", PrivProtocol: model.PrivAES, PrivKey: "privkey-1", Retries: &retries}, "secrets_set")
	case 2:
		return decodeBoth[model.Node](body, model.Node{Name: "r1", Vendor: model.VendorCisco, Role: model.RoleRouter, Location: "par1",
			Tags: []string{"core"}, CustomData: map[string]any{"bgp": map[string]any{"asn": 64512}}}, "fqdn")
	default:
		return decodeBoth[model.Link](body, model.Link{A: model.Endpoint{Node: "r1", Interface: "xe-0/0/0"},
			Z: &model.Endpoint{Node: "r2", Interface: "xe-0/0/1"}, BandwidthBps: 1e10})
	}
}

func decodeBoth[T any](body []byte, stored T, outputOnly ...string) ([][]byte, error) {
	doc, err := parseDocument(body)
	if err != nil {
		return nil, err
	}
	if _, err := documentRevision(doc); err != nil {
		return nil, err
	}
	var out [][]byte
	v, err := decodeObject[T](doc, outputOnly...)
	if err == nil {
		b, merr := json.Marshal(v)
		if merr != nil {
			return nil, merr
		}
		out = append(out, b)
	}
	cur, terr := toDocument(stored)
	if terr != nil {
		return nil, terr
	}
	if p := unknownField(typeOf[T](), doc, ""); p != "" {
		return out, err
	}
	merged, _ := mergePatch(cur, doc).(map[string]any)
	if _, perr := decodeObject[T](merged, outputOnly...); perr != nil && err == nil {
		err = perr
	}
	return out, err
}

// FuzzDecodeObject: the strict decoding of request bodies never panics,
// refuses only with a 400 or a 422 (never a 500), drops every output-only
// field, and what it accepts survives a second trip unchanged.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []struct {
		kind uint8
		body string
	}{
		{0, `{"name": "par1", "kind": "site", "parent": "eu"}`},
		{0, `{"name": "x", "kind": "SITE", "id": "i", "revision": 4, "created_at": "nope"}`},
		{1, `{"name": "v2", "version": "2c", "community": "public", "timeout": "2s", "retries": 0}`},
		{1, `{"name": "v3", "version": "v3", "auth_protocol": "sha-256", "timeout": "soon"}`},
		{2, `{"name": "r1", "vendor": "cisco", "role": "lb", "tags": ["a", "b"], "custom_data": {"n": 1e400}}`},
		{2, `{"name": 1, "Name": "x", "tags": "t"}`},
		{3, `{"a": {"node": "r1", "interface": "e1"}, "z": null, "circuit": {"id": "c"}}`},
		{3, `{"a": {"node": "r1", "zz": 1}} {}`},
		{3, `[]`},
		{0, ``},
	} {
		f.Add(s.kind, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		encs, err := decodeAs(kind, body)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v is not an API error: it would be a 500", err, err)
			}
			if ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d for %q", ae.Status, body)
			}
		}
		for _, b := range encs {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("re-encoded object is not JSON: %v", err)
			}
			for _, k := range []string{"id", "revision", "created_at", "updated_at", "fqdn", "secrets_set"} {
				if _, ok := m[k]; ok {
					t.Fatalf("output-only field %s survived decoding of %q: %s", k, body, b)
				}
			}
			again, err := decodeAs(kind, b)
			if err != nil {
				t.Fatalf("re-decoding %s: %v", b, err)
			}
			if len(again) == 0 || string(again[0]) != string(b) {
				t.Fatalf("second trip changed %s into %q", b, again)
			}
		}
	})
}
