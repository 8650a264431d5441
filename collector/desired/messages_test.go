package desired_test

import (
	"testing"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// TestNameConflictMessages pins the exact conflict errors of creating or
// renaming onto a taken name, kind by kind.
func TestNameConflictMessages(t *testing.T) {
	s, _ := newStore(t)
	ctx := testCtx(t)
	seed(t, s, node("a", "par1"), node("b", "par1"))
	must(s.CreateSNMPProfile(ctx, v2profile("other")))(t)

	_, err := s.CreateLocation(ctx, model.Location{Name: "fr", Kind: model.KindCountry, Parent: "eu"})
	wantExact(t, err, `location "fr" already exists`)
	_, err = s.CreateSNMPProfile(ctx, v2profile("std"))
	wantExact(t, err, `SNMP profile "std" already exists`)
	_, err = s.CreateNode(ctx, node("a", "par1"))
	wantExact(t, err, `node "a" already exists`)

	_, err = s.UpdateLocation(ctx, "us", model.Location{Name: "eu", Kind: model.KindRegion}, 0)
	wantExact(t, err, `location "eu" already exists`)
	_, err = s.UpdateSNMPProfile(ctx, "other", v2profile("std"), 0)
	wantExact(t, err, `SNMP profile "std" already exists`)
	_, err = s.UpdateNode(ctx, "b", node("a", "par1"), 0)
	wantExact(t, err, `node "a" already exists`)

	// Renaming what others refer to, and stale revisions.
	_, err = s.UpdateSNMPProfile(ctx, "std", v2profile("std2"), 0)
	if err != nil { // std is not used by the seeded nodes
		t.Fatal(err)
	}
	_, err = s.UpdateLocation(ctx, "par1", model.Location{Name: "par9", Kind: model.KindSite, Parent: "par"}, 0)
	wantIs(t, err, desired.ErrInUse, "")
	_, err = s.UpdateNode(ctx, "a", node("a", "par1"), 1)
	wantIs(t, err, desired.ErrConflict, `node "a" is at revision `)
	err = s.DeleteSNMPProfile(ctx, "other", desired.DeleteOptions{IfRevision: 1})
	wantIs(t, err, desired.ErrConflict, `snmp-profile "other" is at revision `)
}

func wantExact(t testing.TB, err error, msg string) {
	t.Helper()
	wantIs(t, err, desired.ErrConflict, msg)
	if err.Error() != msg {
		t.Fatalf("error %q, want exactly %q", err, msg)
	}
}
