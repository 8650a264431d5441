package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/unet-project/unet/collector/api"
	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/internal/testsupport"
	"github.com/unet-project/unet/shared/apiclient"
	"github.com/unet-project/unet/shared/model"
)

// End-to-end tests: the real unetctl binary against a real collector API
// on a real store on embedded etcd. The binary is built once per run.

// binary is the unetctl built by TestMain.
var binary string

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // no debug banner in test output
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "unetctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "unetctl")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building unetctl:", err)
		return 1
	}
	return m.Run()
}

// collector is a running collector API and a HOME for the binary.
type collector struct {
	t    *testing.T
	url  string
	home string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	store := desired.New(testsupport.Etcd(t), desired.DefaultConfig(), testsupport.Logger(t))
	a, err := api.New(api.DefaultConfig(), api.Dependencies{Store: store, Logger: testsupport.Logger(t), Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &collector{t: t, url: srv.URL, home: t.TempDir()}
}

// run executes the binary with stdin from /dev/null (not a terminal).
func (c *collector) run(args ...string) result {
	return c.runIn("", args...)
}

func (c *collector) runIn(stdin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"UNET_SERVER=" + c.url, "HOME=" + c.home}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("running unetctl: %v", err)
	}
	return result{out: out.String(), err: errb.String(), code: code}
}

// must runs a command that has to succeed and returns its stdout.
func (c *collector) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("unetctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

func (c *collector) mustJSON(v any, args ...string) {
	c.t.Helper()
	out := c.must(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("unetctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// seed runs the README walkthrough's writes.
func (c *collector) seed() {
	c.t.Helper()
	for _, args := range [][]string{
		{"location", "add", "eu", "--kind", "region"},
		{"location", "add", "par1", "--kind", "site", "--parent", "eu"},
		{"location", "add", "par1-r01", "--kind", "rack", "--parent", "par1"},
		{"snmp-profile", "add", "lab", "--version", "2c", "--community", "public", "--timeout", "2s", "--retries", "1", "--interval", "60s"},
		{"snmp-profile", "add", "secure", "--version", "3", "--user", "noc", "--auth-proto", "sha", "--auth-key", "authpass1", "--priv-proto", "aes", "--priv-key", "privpass1"},
		{"node", "add", "r1", "--location", "par1", "--vendor", "cisco", "--role", "router", "--mgmt-address", "127.1.0.1", "--snmp-profile", "lab", "--lifecycle", "live", "--model", "ASR1001-X", "--version", "17.9.4"},
		{"node", "add", "sw1", "--location", "par1-r01", "--vendor", "arista", "--role", "switch", "--mgmt-address", "127.1.0.2", "--snmp-profile", "lab", "--custom-data", `{"vlan":120}`},
		{"link", "add", "--a", "r1:Gi0/0/1", "--z", "sw1:Ethernet1"},
		{"link", "add", "--a", "r1:Gi0/0/0", "--circuit", "TRANSIT-42", "--provider", "ExampleNet"},
	} {
		c.must(args...)
	}
}

func TestE2EWalkthrough(t *testing.T) {
	c := startCollector(t)
	c.seed()

	var nodes []map[string]any
	c.mustJSON(&nodes, "node", "list")
	if len(nodes) != 2 {
		t.Fatalf("node list: %v", nodes)
	}
	want := map[string]map[string]any{
		"r1":  {"name": "r1", "vendor": "cisco", "role": "router", "lifecycle": "live", "management_address": "127.1.0.1", "location": "par1"},
		"sw1": {"name": "sw1", "vendor": "arista", "role": "switch", "lifecycle": "planned", "management_address": "127.1.0.2", "location": "par1-r01"},
	}
	for _, n := range nodes {
		for k, v := range want[n["name"].(string)] {
			if n[k] != v {
				t.Errorf("node %s: %s = %v, want %v", n["name"], k, n[k], v)
			}
		}
	}

	table := c.must("node", "list", "--location", "eu")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") {
		t.Errorf("node list --location eu:\n%s", table)
	}
	if out := c.must("node", "list", "--role", "switch"); !strings.Contains(out, "sw1") || strings.Contains(out, "r1 ") {
		t.Errorf("node list --role switch:\n%s", out)
	}
	if out := c.must("node", "show", "r1", "-o", "yaml"); !strings.Contains(out, "name: r1\n") || !strings.Contains(out, "version: 17.9.4\n") {
		t.Errorf("node show -o yaml:\n%s", out)
	}
	if out := c.must("node", "show", "sw1"); !strings.Contains(out, `{"vlan":120}`) {
		t.Errorf("node show:\n%s", out)
	}

	tree := c.must("location", "tree")
	if tree != "eu (region)\n└── par1 (site)\n    └── par1-r01 (rack)\n" {
		t.Errorf("location tree:\n%s", tree)
	}
	var sub model.TreeNode
	c.mustJSON(&sub, "location", "tree", "par1")
	if sub.Name != "par1" || len(sub.Children) != 1 || sub.Children[0].Path != "eu/par1/par1-r01" {
		t.Errorf("location tree par1 -o json: %+v", sub)
	}

	var links []model.Link
	c.mustJSON(&links, "link", "list", "--node", "r1")
	if len(links) != 2 {
		t.Fatalf("link list --node r1: %+v", links)
	}
	var l model.Link
	c.mustJSON(&l, "link", "show", "sw1:Ethernet1")
	if l.A.Node != "r1" || l.Z == nil || l.Z.Interface != "Ethernet1" {
		t.Errorf("link show by endpoint: %+v", l)
	}
	c.mustJSON(&l, "link", "show", l.ID)
	if l.A.Interface != "Gi0/0/1" {
		t.Errorf("link show by id: %+v", l)
	}

	c.must("node", "update", "sw1", "--lifecycle", "live", "--tag", "access")
	var sw1 model.Node
	c.mustJSON(&sw1, "node", "show", "sw1")
	if sw1.Lifecycle != "live" || len(sw1.Tags) != 1 || sw1.Tags[0] != "access" || sw1.Vendor != "arista" || sw1.CustomData["vlan"] != 120.0 {
		t.Errorf("after update: %+v", sw1)
	}
	c.must("location", "update", "par1", "--description", "Paris 1")
	if out := c.must("location", "show", "par1"); !strings.Contains(out, "Description: Paris 1") {
		t.Errorf("location show:\n%s", out)
	}

	var lab model.SNMPProfile
	c.mustJSON(&lab, "snmp-profile", "show", "lab")
	if lab.Community != "" || len(lab.SecretsSet) != 1 || lab.SecretsSet[0] != "community" || lab.Timeout.String() != "2s" {
		t.Errorf("snmp-profile show lab: %+v", lab)
	}
	if out := c.must("snmp-profile", "list"); !strings.Contains(out, "authPriv") || strings.Contains(out, "privpass1") {
		t.Errorf("snmp-profile list:\n%s", out)
	}
	c.must("snmp-profile", "update", "lab", "--interval", "30s")
	c.mustJSON(&lab, "snmp-profile", "show", "lab")
	if lab.Interval.String() != "30s" || len(lab.SecretsSet) != 1 {
		t.Errorf("profile after update: %+v", lab)
	}
}

func TestE2EExportImportRoundTrip(t *testing.T) {
	c := startCollector(t)
	c.seed()
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "network.json")
	exported := c.must("export", "-o", "json")
	writeFile(t, jsonFile, exported)
	var b struct {
		Locations    []json.RawMessage `json:"locations"`
		SNMPProfiles []json.RawMessage `json:"snmp_profiles"`
		Nodes        []json.RawMessage `json:"nodes"`
		Links        []json.RawMessage `json:"links"`
	}
	if err := json.Unmarshal([]byte(exported), &b); err != nil || len(b.Locations) != 3 || len(b.SNMPProfiles) != 2 || len(b.Nodes) != 2 || len(b.Links) != 2 {
		t.Fatalf("export: %v\n%s", err, exported)
	}
	if strings.Contains(exported, "public") || strings.Contains(exported, "authpass1") {
		t.Fatal("the export holds secrets")
	}

	// Importing what was exported changes nothing and keeps the secrets.
	var rep apiclient.ImportReport
	c.mustJSON(&rep, "import", jsonFile)
	if sum(rep.Created) != 0 || sum(rep.Updated)+sum(rep.Unchanged) != 9 {
		t.Errorf("re-import report: %v", rep)
	}
	var lab model.SNMPProfile
	c.mustJSON(&lab, "snmp-profile", "show", "lab")
	if len(lab.SecretsSet) != 1 {
		t.Errorf("re-import lost the community: %+v", lab)
	}

	// Upsert: a changed node and a new one, from an edited export.
	edited := strings.Replace(exported, `"ASR1001-X"`, `"ASR1002-X"`, 1)
	writeFile(t, jsonFile, edited)
	rep = apiclient.ImportReport{}
	c.mustJSON(&rep, "import", jsonFile)
	if rep.Updated["node"] != 1 || sum(rep.Created) != 0 {
		t.Errorf("upsert report: %v", rep)
	}
	var r1 model.Node
	c.mustJSON(&r1, "node", "show", "r1")
	if r1.Model != "ASR1002-X" {
		t.Errorf("r1 model after import: %q", r1.Model)
	}

	// CSV, a dry run, and a fresh collector fed from the file.
	csvFile := filepath.Join(dir, "network.csv")
	c.must("export", "-o", "csv", "--file", csvFile)
	if out := c.must("import", csvFile, "--dry-run"); !strings.Contains(out, "Dry run") {
		t.Errorf("dry run:\n%s", out)
	}
	fresh := startCollector(t)
	// Secrets are not exported: the profiles need them in a new store.
	fresh.must("snmp-profile", "add", "lab", "--version", "2c", "--community", "public")
	fresh.must("snmp-profile", "add", "secure", "--version", "3", "--user", "noc", "--auth-proto", "sha", "--auth-key", "authpass1", "--priv-proto", "aes", "--priv-key", "privpass1")
	out := fresh.must("import", jsonFile)
	if !strings.Contains(out, "Imported: ") {
		t.Errorf("import into a fresh collector:\n%s", out)
	}
	var nodes []model.Node
	fresh.mustJSON(&nodes, "node", "list")
	if len(nodes) != 2 || fresh.must("location", "tree") != "eu (region)\n└── par1 (site)\n    └── par1-r01 (rack)\n" {
		t.Errorf("fresh collector after import: %+v", nodes)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestE2EImportBadRows(t *testing.T) {
	c := startCollector(t)
	c.must("location", "add", "par1", "--kind", "site")
	dir := t.TempDir()
	// Rows that are wrong on their own…
	file := filepath.Join(dir, "nodes.csv")
	writeFile(t, file, "name,vendor,role,location\nok1,cisco,router,par1\nbad1,foo,router,par1\nbad2,cisco,king,par1\n")
	r := c.run("import", file, "--kind", "node")
	r.wantCode(t, exitError, "import refused: 2 bad rows")
	for _, want := range []string{"LINE", "3 ", "bad1", "vendor", `unknown vendor "foo"`, "4 ", "bad2", "role"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("bad rows lack %q:\n%s", want, r.out)
		}
	}
	// …and rows that refer to what does not exist.
	writeFile(t, file, "name,vendor,role,location\nok1,cisco,router,par1\nbad3,cisco,router,nowhere\n")
	r = c.run("import", file, "--kind", "node", "--dry-run")
	r.wantCode(t, exitError, "import refused: 1 bad row")
	if !strings.Contains(r.out, "bad3") || !strings.Contains(r.out, "nowhere") {
		t.Errorf("reference error:\n%s", r.out)
	}
	var nodes []model.Node
	c.mustJSON(&nodes, "node", "list")
	if len(nodes) != 0 {
		t.Errorf("a refused import wrote %d nodes", len(nodes))
	}
}

func TestE2EDelete(t *testing.T) {
	c := startCollector(t)
	c.seed()
	c.run("node", "delete", "r1").wantCode(t, exitError, "refusing to delete node r1", "--yes")
	c.run("node", "delete", "r1", "--yes").wantCode(t, exitError, "in_use", "link", "--cascade")
	if out := c.must("node", "delete", "r1", "--cascade", "--yes"); out != "node r1 deleted\n" {
		t.Errorf("delete output %q", out)
	}
	c.run("node", "show", "r1").wantCode(t, exitError, "not_found")
	var links []model.Link
	c.mustJSON(&links, "link", "list")
	if len(links) != 0 {
		t.Errorf("cascade left links: %+v", links)
	}
	c.run("snmp-profile", "delete", "lab", "--yes").wantCode(t, exitError, "in_use", "sw1")
	c.must("location", "delete", "eu", "--cascade", "--yes")
	if out := c.run("location", "tree"); out.out != "" || out.code != 0 {
		t.Errorf("tree after cascade: %+v", out)
	}
	c.must("snmp-profile", "delete", "lab", "-y")
}

func TestE2EInvalidInput(t *testing.T) {
	c := startCollector(t)
	c.must("location", "add", "par1", "--kind", "site")
	base := []string{"node", "add", "r1", "--location", "par1", "--role", "router"}
	c.run(append(base, "--vendor", "foo")...).wantCode(t, exitUsage, "--vendor", `unknown vendor "foo"`)
	c.run(append(base, "--vendor", "cisco", "--mgmt-address", "300.1.1.1")...).wantCode(t, exitUsage, "--mgmt-address")
	c.run(append(base, "--vendor", "cisco", "--custom-data", "{")...).wantCode(t, exitUsage, "--custom-data")
	// Rules that need the whole object come back from the API, field and flag named.
	c.run(append(base, "--vendor", "cisco", "--lifecycle", "live")...).wantCode(t, exitError, "management_address (--mgmt-address)", "live")
	c.run("node", "add", "r1", "--location", "nowhere", "--role", "router", "--vendor", "cisco").wantCode(t, exitError, "location", "nowhere")
	c.run("location", "add", "x y", "--kind", "site").wantCode(t, exitError, "name")
	c.run("snmp-profile", "add", "p", "--version", "2c").wantCode(t, exitError, "community (--community)")
	c.run("link", "add", "--a", "r1:x", "--z", "r1:y").wantCode(t, exitError, "z.node (--z)")

	dead := &collector{t: t, url: "http://127.0.0.1:1", home: t.TempDir()}
	dead.run("node", "list").wantCode(t, exitError, "cannot reach the collector at http://127.0.0.1:1")
}
