package main

import (
	"slices"
	"testing"
)

// The show, list, update and delete commands of the kinds come from shared
// builders; each kind must still have the aliases, flags and completion
// that operators rely on.
func TestKindCommandsShape(t *testing.T) {
	root := (&app{}).rootCommand()
	for _, kind := range []string{"location", "snmp-profile", "node", "link"} {
		for sub, alias := range map[string]string{"show": "get", "list": "ls", "delete": "rm", "update": ""} {
			cmd, _, err := root.Find([]string{kind, sub})
			if err != nil || cmd.Name() != sub {
				if kind == "link" && sub == "update" {
					continue // links are replaced, not updated
				}
				t.Errorf("%s %s: not found (%v)", kind, sub, err)
				continue
			}
			if alias != "" && !slices.Contains(cmd.Aliases, alias) {
				t.Errorf("%s %s: aliases %v, want %q", kind, sub, cmd.Aliases, alias)
			}
			if cmd.RunE == nil || cmd.Args == nil {
				t.Errorf("%s %s: no RunE or Args", kind, sub)
			}
			if sub != "list" && cmd.ValidArgsFunction == nil {
				t.Errorf("%s %s: no completion of its argument", kind, sub)
			}
			want := map[string][]string{
				"list":   {"sort", "limit"},
				"delete": {"yes"},
			}[sub]
			for _, fl := range want {
				if cmd.Flags().Lookup(fl) == nil {
					t.Errorf("%s %s: no --%s", kind, sub, fl)
				}
			}
			if sub == "delete" {
				cascades := kind == "location" || kind == "node"
				if got := cmd.Flags().Lookup("cascade") != nil; got != cascades {
					t.Errorf("%s delete: --cascade present %v, want %v", kind, got, cascades)
				}
			}
		}
	}
}
