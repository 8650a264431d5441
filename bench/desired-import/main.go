// Command desired-import measures the issue-2 figures end to end: a
// collector on a real embedded etcd (fsync on, as in production) in a temp
// dir, one CSV of 10,000 nodes + 20,000 links imported through the HTTP
// API, then node lists with a location-subtree filter. It prints the
// medians of several runs.
//
//	go run ./bench/desired-import [-nodes 10000] [-runs 3] [-lists 20]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/unet-project/unet/collector"
)

func main() {
	nodes := flag.Int("nodes", 10000, "nodes to import (links = 2 × nodes)")
	runs := flag.Int("runs", 3, "imports, each into a fresh collector")
	lists := flag.Int("lists", 20, "filtered lists per run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the list phase of the last run to this file")
	flag.Parse()
	csv := generateCSV(*nodes)
	fmt.Printf("CSV: %d nodes, %d links, %d bytes\n", *nodes, 2**nodes, len(csv))

	var imports, listTimes []time.Duration
	for r := range *runs {
		profile := ""
		if r == *runs-1 {
			profile = *cpuprofile
		}
		imp, ls, err := run(csv, *nodes, *lists, profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "run", r+1, ":", err)
			os.Exit(1)
		}
		fmt.Printf("run %d: import %v, list median %v\n", r+1, imp.Round(time.Millisecond), median(ls).Round(time.Microsecond))
		imports = append(imports, imp)
		listTimes = append(listTimes, ls...)
	}
	fmt.Printf("median import of %d nodes + %d links: %v\n", *nodes, 2**nodes, median(imports).Round(time.Millisecond))
	fmt.Printf("median list of %d nodes under a region (subtree filter): %v\n", *nodes, median(listTimes).Round(time.Microsecond))
}

// generateCSV writes one region with ten sites and racks, a profile, the
// nodes spread over the racks, and two links per node (a ring of uplinks
// and a ring of cross-connects), in an order that forces forward references.
func generateCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("kind,name,location_kind,parent,vendor,role,lifecycle,management_address,location,snmp_profile,snmp_version,community,a,z\n")
	for i := range n {
		fmt.Fprintf(&b, "node,n%05d,,,arista,switch,live,10.%d.%d.%d,rack%02d,bench,,,,\n", i, i>>16&255, i>>8&255, i&255, i%20)
	}
	for i := range n {
		j := (i + 1) % n
		fmt.Fprintf(&b, "link,,,,,,,,,,,,n%05d:Ethernet1,n%05d:Ethernet2\n", i, j)
		fmt.Fprintf(&b, "link,,,,,,,,,,,,n%05d:Ethernet3,n%05d:Ethernet4\n", i, (i+n/2)%n)
	}
	b.WriteString("location,world,region,,,,,,,,,,,\n")
	for s := range 10 {
		fmt.Fprintf(&b, "location,site%d,site,world,,,,,,,,,,\n", s)
	}
	for r := range 20 {
		fmt.Fprintf(&b, "location,rack%02d,rack,site%d,,,,,,,,,,\n", r, r/2)
	}
	b.WriteString("snmp-profile,bench,,,,,,,,,2c,public,,\n")
	return b.Bytes()
}

func run(csv []byte, nodes, lists int, cpuprofile string) (time.Duration, []time.Duration, error) {
	dir, err := os.MkdirTemp("", "unet-bench-")
	if err != nil {
		return 0, nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := collector.DefaultConfig()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	cfg.API.MaxImportBytes = 256 << 20
	c, err := collector.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return 0, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + c.Addr()

	start := time.Now()
	resp, err := http.Post(base+"/api/v1/import?format=csv", "text/csv", bytes.NewReader(csv))
	if err != nil {
		return 0, nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	imp := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("import: %s: %.500s", resp.Status, body)
	}

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return 0, nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, nil, err
		}
		defer pprof.StopCPUProfile()
	}
	var ls []time.Duration
	for range lists {
		start := time.Now()
		n, err := listAll(base + "/api/v1/nodes?location=world&limit=5000")
		if err != nil {
			return 0, nil, err
		}
		ls = append(ls, time.Since(start))
		if n != nodes {
			return 0, nil, fmt.Errorf("list returned %d nodes, want %d", n, nodes)
		}
	}
	return imp, ls, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// listAll follows the continue tokens and counts the items.
func listAll(first string) (int, error) {
	n, cont := 0, ""
	for {
		u := first
		if cont != "" {
			u += "&continue=" + url.QueryEscape(cont)
		}
		resp, err := http.Get(u)
		if err != nil {
			return 0, err
		}
		var page struct {
			Items    []json.RawMessage `json:"items"`
			Continue string            `json:"continue"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		n += len(page.Items)
		if cont = page.Continue; cont == "" {
			return n, nil
		}
	}
}
