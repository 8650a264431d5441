package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unet-project/unet/shared/model"
)

func TestDeleteAsksOnATerminal(t *testing.T) {
	f := newFake(t)
	f.on("DELETE /api/v1/nodes/r1", reply(204, nil))

	inv := f.invocation()
	inv.inTerminal, inv.stdin = true, "y\n"
	r := inv.run("node", "delete", "r1")
	r.wantCode(t, 0)
	if r.err != "Delete node r1? [y/N] " || r.out != "node r1 deleted\n" {
		t.Errorf("stderr %q stdout %q", r.err, r.out)
	}
	if f.last().Method != "DELETE" || f.last().Query != "" {
		t.Errorf("sent %+v", f.last())
	}

	inv.stdin = "\n"
	r = inv.run("node", "delete", "r1", "--cascade")
	r.err = strings.TrimPrefix(r.err, "Delete node r1 and everything that refers to it? [y/N] ")
	r.wantCode(t, exitError, "node r1 not deleted")
	if len(f.requests()) != 1 {
		t.Errorf("a refused delete was sent")
	}
}

func TestDeleteWithoutTerminalNeedsYes(t *testing.T) {
	f := newFake(t)
	f.on("DELETE /api/v1/nodes/r1", reply(204, nil))
	r := f.cli("node", "delete", "r1")
	r.wantCode(t, exitError, "refusing to delete node r1", "stdin is not a terminal", "--yes")
	if len(f.requests()) != 0 {
		t.Fatal("deleted without confirmation")
	}
	r = f.cli("node", "delete", "r1", "--yes", "--cascade")
	r.wantCode(t, 0)
	if f.last().Query != "cascade=true" {
		t.Errorf("query %q", f.last().Query)
	}
	r = f.cli("node", "delete", "r1", "-y", "-o", "json")
	r.wantCode(t, 0)
	if r.out != "" {
		t.Errorf("machine output of a delete: %q", r.out)
	}
}

func TestDeleteInUseSuggestsCascade(t *testing.T) {
	f := newFake(t)
	f.on("DELETE /api/v1/locations/par1", reply(409, errorBody("in_use", "location par1 is referenced by node r1, node sw1",
		map[string]any{"referenced_by": []map[string]string{{"kind": "node", "name": "r1"}, {"kind": "node", "name": "sw1"}}})))
	r := f.cli("location", "delete", "par1", "--yes")
	r.wantCode(t, exitError, "in_use: location par1 is referenced by node r1, node sw1", "--cascade")
}

func TestConnectionRefused(t *testing.T) {
	f := newFake(t)
	url := f.srv.URL
	f.srv.Close()
	r := f.cli("node", "list")
	r.wantCode(t, exitError, "cannot reach the collector at "+url+": ", "refused")
}

func TestSettingsPrecedence(t *testing.T) {
	fileSrv, envSrv, flagSrv := newFake(t), newFake(t), newFake(t)
	for _, f := range []*fakeAPI{fileSrv, envSrv, flagSrv} {
		f.on("GET /api/v1/snmp-profiles", reply(200, map[string]any{"items": []model.SNMPProfile{{Name: "lab", Version: "2c"}}}))
	}
	home := t.TempDir()
	cfgDir := filepath.Join(home, ".config", "unet")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(cfgDir, "unetctl.yaml"), "server: "+fileSrv.srv.URL+"\ntoken: file-token\noutput: json\n")

	inv := invocation{env: map[string]string{"HOME": home}}
	r := inv.run("snmp-profile", "list")
	r.wantCode(t, 0)
	if len(fileSrv.requests()) != 1 || fileSrv.last().Auth != "Bearer file-token" || !strings.HasPrefix(r.out, "[") {
		t.Fatalf("file settings not used: %+v, out %q", fileSrv.requests(), r.out)
	}

	inv.env["UNET_SERVER"], inv.env["UNET_TOKEN"], inv.env["UNET_OUTPUT"] = envSrv.srv.URL, "env-token", "yaml"
	r = inv.run("snmp-profile", "list")
	r.wantCode(t, 0)
	if len(envSrv.requests()) != 1 || envSrv.last().Auth != "Bearer env-token" || !strings.HasPrefix(r.out, "- name: lab") {
		t.Fatalf("environment does not win over the file: out %q", r.out)
	}

	r = inv.run("snmp-profile", "list", "--server", flagSrv.srv.URL, "--token", "flag-token", "-o", "table")
	r.wantCode(t, 0)
	if len(flagSrv.requests()) != 1 || flagSrv.last().Auth != "Bearer flag-token" || !strings.HasPrefix(r.out, "NAME") {
		t.Fatalf("flags do not win: out %q", r.out)
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "server: http://x\ntimeout: 5s\n")
	inv := invocation{env: map[string]string{"HOME": dir}}
	r := inv.run("node", "list", "--config", bad)
	r.wantCode(t, exitError, "config file", "timeout", "not found")

	r = inv.run("node", "list", "--config", filepath.Join(dir, "missing.yaml"))
	r.wantCode(t, exitError, "missing.yaml")

	badOut := filepath.Join(dir, "out.yaml")
	writeFile(t, badOut, "output: xml\n")
	inv.env["UNET_CONFIG"] = badOut
	r = inv.run("node", "list")
	r.wantCode(t, exitError, "output", `"xml"`)

	inv.env["UNET_CONFIG"] = ""
	inv.env["UNET_OUTPUT"] = "html"
	r = inv.run("node", "list")
	r.wantCode(t, exitError, "UNET_OUTPUT", `"html"`)
	// Help and completion scripts work whatever the settings.
	for _, args := range [][]string{{"help", "node"}, {"completion", "zsh"}, {"node", "list", "--help"}} {
		if r := inv.run(args...); r.code != 0 || r.out == "" {
			t.Errorf("%v with a bad setting: %+v", args, r)
		}
	}

	inv.env["UNET_OUTPUT"] = ""
	inv.run("node", "list", "--server", "localhost:8080").wantCode(t, exitError, `collector URL "localhost:8080"`, "http or https")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func treeFixture() []model.TreeNode {
	loc := func(name, kind, parent string) model.Location {
		return model.Location{Name: name, Kind: model.LocationKind(kind), Parent: parent}
	}
	return []model.TreeNode{
		{Location: loc("eu", "region", ""), Path: "eu", Children: []model.TreeNode{
			{Location: loc("lon1", "site", "eu"), Path: "eu/lon1"},
			{Location: loc("par1", "site", "eu"), Path: "eu/par1", Children: []model.TreeNode{
				{Location: loc("par1-r01", "rack", "par1"), Path: "eu/par1/par1-r01"},
				{Location: loc("par1-r02", "rack", "par1"), Path: "eu/par1/par1-r02"},
			}},
		}},
		{Location: loc("us", "region", ""), Path: "us"},
	}
}

func TestLocationTree(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/location-tree", reply(200, treeFixture()))
	f.on("GET /api/v1/locations/par1/tree", reply(200, treeFixture()[0].Children[1]))
	r := f.cli("location", "tree")
	r.wantCode(t, 0)
	want := "" +
		"eu (region)\n" +
		"├── lon1 (site)\n" +
		"└── par1 (site)\n" +
		"    ├── par1-r01 (rack)\n" +
		"    └── par1-r02 (rack)\n" +
		"us (region)\n"
	if r.out != want {
		t.Errorf("tree\n%s\nwant\n%s", r.out, want)
	}

	r = f.cli("location", "tree", "par1", "-o", "json")
	r.wantCode(t, 0)
	var one model.TreeNode
	if err := json.Unmarshal([]byte(r.out), &one); err != nil || one.Name != "par1" || len(one.Children) != 2 {
		t.Fatalf("json tree %q: %v", r.out, err)
	}
	r = f.cli("location", "tree", "-o", "json")
	var all []model.TreeNode
	if err := json.Unmarshal([]byte(r.out), &all); err != nil || len(all) != 2 || all[0].Children[1].Children[0].Path != "eu/par1/par1-r01" {
		t.Fatalf("json forest %q: %v", r.out, err)
	}
	r = f.cli("location", "tree", "-o", "csv")
	if !strings.HasPrefix(r.out, "path,name,kind,parent,description\neu,eu,region,,\neu/lon1,lon1,site,eu,\n") {
		t.Errorf("csv tree:\n%s", r.out)
	}
}

func TestLocationAddAndUpdate(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/locations", echo(201, nil))
	f.on("PATCH /api/v1/locations/par1", echo(200, map[string]any{"name": "par1"}))
	r := f.cli("location", "add", "par1", "--kind", "SITE", "--parent", "eu", "--description", "Paris 1")
	r.wantCode(t, 0)
	if f.last().Body != `{"name":"par1","kind":"site","parent":"eu","description":"Paris 1"}` {
		t.Errorf("add sent %s", f.last().Body)
	}
	r = f.cli("location", "update", "par1", "--parent", "")
	r.wantCode(t, 0)
	if f.last().Body != `{"parent":null}` {
		t.Errorf("update sent %s", f.last().Body)
	}
	r = f.cli("location", "list", "--within", "eu", "--kind", "rack")
	if !strings.Contains(f.last().Query, "within=eu") || !strings.Contains(f.last().Query, "kind=rack") {
		t.Errorf("list query %q", f.last().Query)
	}
	f.cli("location", "add", "x", "--kind", "planet").wantCode(t, exitUsage, "--kind", "accepted: region")
}

func TestSNMPProfileAdd(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/snmp-profiles", func(w http.ResponseWriter, r *http.Request) {
		var p model.SNMPProfile
		_ = json.NewDecoder(r.Body).Decode(&p)
		reply(201, p.Redacted())(w, r)
	})
	r := f.cli("snmp-profile", "add", "lab", "--version", "v2c", "--community", "public", "--timeout", "2s", "--retries", "0", "--interval", "60s")
	r.wantCode(t, 0)
	if f.last().Body != `{"name":"lab","version":"2c","community":"public","timeout":"2s","retries":0,"interval":"1m0s"}` {
		t.Errorf("v2c sent %s", f.last().Body)
	}
	r = f.cli("snmp-profile", "add", "secure", "--version", "3", "--user", "noc", "--auth-proto", "SHA-256",
		"--auth-key", "authpass1", "--priv-proto", "aes", "--priv-key", "privpass1", "-o", "json")
	r.wantCode(t, 0)
	if f.last().Body != `{"name":"secure","version":"3","user":"noc","auth_protocol":"sha256","auth_key":"authpass1","priv_protocol":"aes","priv_key":"privpass1"}` {
		t.Errorf("v3 sent %s", f.last().Body)
	}
	if strings.Contains(r.out, "authpass1") || !strings.Contains(r.out, `"secrets_set"`) {
		t.Errorf("output %s", r.out)
	}
	f.cli("snmp-profile", "add", "x", "--version", "4").wantCode(t, exitUsage, "--version", "accepted: 2c, 3")
	f.cli("snmp-profile", "add", "x", "--version", "3", "--timeout", "soon").wantCode(t, exitUsage, "--timeout")
}

func TestSNMPProfileShowAndUpdate(t *testing.T) {
	f := newFake(t)
	retries := 1
	f.on("GET /api/v1/snmp-profiles/secure", reply(200, model.SNMPProfile{Name: "secure", Version: "3", User: "noc",
		AuthProtocol: "sha", PrivProtocol: "aes", Port: 161, Timeout: model.Duration(2e9), Retries: &retries,
		Interval: model.Duration(60e9), MaxRepetitions: 25, SecretsSet: []string{"auth_key", "priv_key"}}))
	f.on("PATCH /api/v1/snmp-profiles/secure", echo(200, map[string]any{"name": "secure"}))
	r := f.cli("snmp-profile", "show", "secure")
	r.wantCode(t, 0)
	for _, want := range []string{"Security:        authPriv", "Secrets set:     auth_key,priv_key", "Interval:        1m\n", "Retries:         1"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show lacks %q:\n%s", want, r.out)
		}
	}
	r = f.cli("snmp-profile", "update", "secure", "--interval", "30s", "--priv-key", "n3wprivkey")
	r.wantCode(t, 0)
	if f.last().Body != `{"interval":"30s","priv_key":"n3wprivkey"}` {
		t.Errorf("patch %s", f.last().Body)
	}
	if !strings.Contains(f.cli("snmp-profile", "add", "--help").out, "shell history") {
		t.Error("the help does not warn about secrets in the shell history")
	}
}

func TestLinkAdd(t *testing.T) {
	f := newFake(t)
	f.on("POST /api/v1/links", echo(201, map[string]any{"id": "5e1d"}))
	r := f.cli("link", "add", "--a", "r1:Gi0/0/1", "--z", "sw1:Ethernet1", "--bandwidth", "10G", "--description", "uplink")
	r.wantCode(t, 0)
	if f.last().Body != `{"a":{"node":"r1","interface":"Gi0/0/1"},"z":{"node":"sw1","interface":"Ethernet1"},"bandwidth_bps":10000000000,"description":"uplink"}` {
		t.Errorf("sent %s", f.last().Body)
	}
	if r.out != "link 5e1d created (r1:Gi0/0/1 ↔ sw1:Ethernet1)\n" {
		t.Errorf("stdout %q", r.out)
	}
	r = f.cli("link", "add", "--a", "r1:Gi0/0/0", "--circuit", "TRANSIT-42", "--provider", "ExampleNet")
	r.wantCode(t, 0)
	if f.last().Body != `{"a":{"node":"r1","interface":"Gi0/0/0"},"circuit":{"id":"TRANSIT-42","provider":"ExampleNet"}}` {
		t.Errorf("sent %s", f.last().Body)
	}
	n := len(f.requests())
	f.cli("link", "add", "--a", "r1:x", "--z", "sw1:y", "--circuit", "C").wantCode(t, exitUsage, "circuit", "z")
	f.cli("link", "add", "--a", "r1:x").wantCode(t, exitUsage, "circuit", "z")
	f.cli("link", "add", "--a", "r1:x", "--z", "sw1:y", "--provider", "P").wantCode(t, exitUsage, "--provider needs --circuit")
	f.cli("link", "add", "--a", "r1:x", "--z", "sw1:y", "--bandwidth", "fast").wantCode(t, exitUsage, "--bandwidth")
	if len(f.requests()) != n {
		t.Error("invalid link commands were sent")
	}
}

func TestLinkByEndpoint(t *testing.T) {
	f := newFake(t)
	links := []model.Link{
		{Meta: model.Meta{ID: "l1"}, A: model.Endpoint{Node: "r1", Interface: "Gi0/0/0"}, Circuit: &model.Circuit{ID: "T-42", Provider: "Ex"}},
		{Meta: model.Meta{ID: "l2"}, A: model.Endpoint{Node: "sw1", Interface: "Ethernet1"}, Z: &model.Endpoint{Node: "r1", Interface: "Gi0/0/1"}, BandwidthBps: 2_500_000_000},
	}
	f.on("GET /api/v1/links", reply(200, map[string]any{"items": links}))
	f.on("DELETE /api/v1/links/l2", reply(204, nil))
	r := f.cli("link", "delete", "r1:Gi0/0/1", "--yes")
	r.wantCode(t, 0)
	if f.last().Method != "DELETE" || f.last().Path != "/api/v1/links/l2" {
		t.Errorf("deleted %+v", f.last())
	}
	if r.out != "link l2 (sw1:Ethernet1 ↔ r1:Gi0/0/1) deleted\n" {
		t.Errorf("stdout %q", r.out)
	}
	f.cli("link", "show", "r1:Gi9").wantCode(t, exitError, "no link on r1:Gi9")

	r = f.cli("link", "list", "--node", "r1")
	r.wantCode(t, 0)
	want := "" +
		"ID  A              Z           CIRCUIT    BANDWIDTH  DESCRIPTION\n" +
		"l1  r1:Gi0/0/0     -           T-42 (Ex)  -          -\n" +
		"l2  sw1:Ethernet1  r1:Gi0/0/1  -          2.5G       -\n"
	if r.out != want {
		t.Errorf("table\n%s\nwant\n%s", r.out, want)
	}
	r = f.cli("link", "list", "-o", "csv")
	if !strings.HasPrefix(r.out, "id,a,z,circuit_id,circuit_provider,bandwidth_bps,description,revision") ||
		!strings.Contains(r.out, "l2,sw1:Ethernet1,r1:Gi0/0/1,,,2500000000,") {
		t.Errorf("csv:\n%s", r.out)
	}
}

func TestShortDuration(t *testing.T) {
	for in, want := range map[time.Duration]string{0: "", time.Minute: "1m", 90 * time.Second: "1m30s",
		time.Hour: "1h", 2*time.Hour + time.Second: "2h0m1s", 500 * time.Millisecond: "500ms", 2 * time.Second: "2s"} {
		if got := shortDuration(in); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestBandwidth(t *testing.T) {
	for in, want := range map[string]uint64{"10G": 10e9, "2.5g": 2.5e9, "100M": 100e6, "40Gbps": 40e9, "1000": 1000, "1T": 1e12, "512k": 512e3} {
		got, err := parseBandwidth(in)
		if err != nil || got != want {
			t.Errorf("parseBandwidth(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "fast", "-1G", "10X", "1e30T"} {
		if _, err := parseBandwidth(bad); err == nil {
			t.Errorf("parseBandwidth(%q) accepted", bad)
		}
	}
	for in, want := range map[uint64]string{10e9: "10G", 2.5e9: "2.5G", 100e6: "100M", 1234567: "1234567", 1e12: "1T", 1500: "1.5K"} {
		if got := formatBandwidth(in); got != want {
			t.Errorf("formatBandwidth(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestCompletion(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("name_prefix") != "r" {
			t.Errorf("completion did not filter by prefix: %s", r.URL.RawQuery)
		}
		reply(200, map[string]any{"items": []model.Node{{Name: "r1", Vendor: "cisco", Role: "router", Location: "par1"}, {Name: "r2"}}})(w, r)
	})
	r := f.cli("__complete", "node", "show", "r")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.out, "r1\tcisco router in par1\nr2\t") || !strings.Contains(r.out, ":4\n") {
		t.Errorf("node names:\n%s", r.out)
	}
	r = f.cli("__complete", "link", "add", "--a", "r")
	if !strings.HasPrefix(r.out, "r1:\t") || !strings.Contains(r.out, ":6\n") { // NoSpace|NoFileComp
		t.Errorf("endpoint completion:\n%s", r.out)
	}
	r = f.cli("__complete", "node", "add", "r9", "--vendor", "")
	if !strings.HasPrefix(r.out, "cisco\njuniper\n") {
		t.Errorf("vendor completion:\n%s", r.out)
	}
	r = f.cli("__complete", "node", "list", "-o", "")
	if !strings.HasPrefix(r.out, "table\njson\nyaml\ncsv\n") {
		t.Errorf("output completion:\n%s", r.out)
	}
	r = f.cli("completion", "bash")
	r.wantCode(t, 0)
	if !strings.Contains(r.out, "__start_unetctl") {
		t.Error("no bash completion script")
	}
	// A dead collector completes nothing, quickly, and without an error line.
	f.srv.Close()
	r = f.cli("__complete", "node", "show", "")
	if r.code != 0 || strings.Contains(r.out, "r1") || strings.Contains(r.err, "Error") {
		t.Errorf("dead collector: %+v", r)
	}
}

func TestYAMLKeepsJSONNamesOrderAndTypes(t *testing.T) {
	var b strings.Builder
	err := writeYAML(&b, map[string]any{"x": []any{}, "when": "2024-01-02T03:04:05Z", "n": "123", "yes": "true", "nested": map[string]any{"k": 1.5}})
	if err != nil {
		t.Fatal(err)
	}
	want := "n: \"123\"\nnested:\n  k: 1.5\nwhen: \"2024-01-02T03:04:05Z\"\nx: []\nyes: \"true\"\n"
	if b.String() != want {
		t.Errorf("yaml\n%s\nwant\n%s", b.String(), want)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("cobra: unknown flag"), exitUsage},
		{runtimeError{fmt.Errorf("api")}, exitError},
		{runtimeError{usageErrorf("bad")}, exitUsage},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestTimeout(t *testing.T) {
	f := newFake(t)
	f.on("GET /api/v1/nodes", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f.cli("node", "list", "--timeout", "50ms").wantCode(t, exitError, "no answer from the collector", "in time")
}
