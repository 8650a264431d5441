package agent_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/unet-project/unet/agent"
	"github.com/unet-project/unet/internal/config"
)

// TestExampleConfigLoads keeps deploy/agent.yaml in step with Config: it
// must load, and say exactly the defaults it documents.
func TestExampleConfigLoads(t *testing.T) {
	cfg := agent.DefaultConfig()
	if err := config.Load(filepath.Join("..", "deploy", "agent.yaml"), &cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	want := agent.DefaultConfig()
	if len(cfg.Poller.ExtraOIDs) == 0 && len(want.Poller.ExtraOIDs) == 0 {
		cfg.Poller.ExtraOIDs = want.Poller.ExtraOIDs // nil and empty say the same
	}
	if len(cfg.Sites) == 0 && len(want.Sites) == 0 {
		cfg.Sites = want.Sites
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("the example file differs from the defaults it documents:\nfile     %+v\ndefaults %+v", cfg, want)
	}
}
