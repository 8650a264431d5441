package bundle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/unet-project/unet/shared/model"
)

// largeBundle has nodes nodes and 2×nodes links, each node using four
// interfaces: Gi0/0 and Gi0/1 as an A end, Te0/0 and Te0/1 as a Z end.
func largeBundle(nodes int) *Bundle {
	b := &Bundle{Locations: []model.Location{{Name: "par1", Kind: model.KindSite}}}
	for i := range nodes {
		n := model.Node{
			Name: fmt.Sprintf("r%05d", i), Domain: "example.net", Vendor: model.VendorCisco, Model: "C9300",
			Role: model.RoleSwitch, Lifecycle: model.LifecycleLive, Location: "par1", SNMPProfile: "p",
			ManagementAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			Version:           "17.9.4", Serial: fmt.Sprintf("FOC%08d", i), Tags: []string{"access", "floor-2"},
			CustomData: map[string]any{"rack": json.Number(fmt.Sprint(i % 40))},
		}
		n.Normalize()
		b.Nodes = append(b.Nodes, n)
	}
	for k := range 2 * nodes {
		a, z := k%nodes, (k+1)%nodes
		b.Links = append(b.Links, model.Link{
			A:            model.Endpoint{Node: b.Nodes[a].Name, Interface: fmt.Sprintf("Gi0/%d", k/nodes)},
			Z:            &model.Endpoint{Node: b.Nodes[z].Name, Interface: fmt.Sprintf("Te0/%d", k/nodes)},
			BandwidthBps: 10_000_000_000, Description: "uplink",
		})
	}
	return b
}

func largeCSV(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, largeBundle(10_000)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeCSV decodes a 30,001-row file: 10,000 nodes, 20,000
// links and their site, every column present.
func BenchmarkDecodeCSV(b *testing.B) {
	data := largeCSV(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		got, rowErrs, err := DecodeCSV(bytes.NewReader(data), "")
		if err != nil || len(rowErrs) > 0 || got.Len() != 30_001 {
			b.Fatalf("decoded %d objects, %v, %v", got.Len(), err, rowErrs)
		}
	}
}

func BenchmarkEncodeCSV(b *testing.B) {
	bundle := largeBundle(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := EncodeCSV(&bytes.Buffer{}, bundle); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, largeBundle(10_000)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		got, rowErrs, err := DecodeJSON(bytes.NewReader(data))
		if err != nil || len(rowErrs) > 0 || got.Len() != 30_001 {
			b.Fatalf("decoded %d objects, %v, %v", got.Len(), err, rowErrs)
		}
	}
}
