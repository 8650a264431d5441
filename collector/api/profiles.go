package api

import (
	"context"
	"net/url"

	"github.com/unet-project/unet/collector/desired"
	"github.com/unet-project/unet/shared/model"
)

// profileSorts are the sort keys of SNMP profiles.
func profileSorts() []string { return []string{"name", "created_at", "updated_at", "version"} }

// snmpProfiles serves profiles: secrets are accepted on writes and never
// shown (every answer is Redacted; secrets_set says which are held).
func (a *API) snmpProfiles() *resource[model.SNMPProfile] {
	s := a.store
	return &resource[model.SNMPProfile]{
		api:        a,
		coll:       "snmp-profiles",
		outputOnly: []string{"secrets_set"},
		sorts:      profileSorts(),
		get:        s.GetSNMPProfile,
		create:     s.CreateSNMPProfile,
		update:     s.UpdateSNMPProfile,
		remove:     s.DeleteSNMPProfile,
		list: func(ctx context.Context, _ url.Values, o desired.ListOptions) (desired.ListResult[model.SNMPProfile], error) {
			return s.ListSNMPProfiles(ctx, o)
		},
		meta: func(v *model.SNMPProfile) *model.Meta { return &v.Meta },
		key:  func(v *model.SNMPProfile) string { return v.Name },
		view: model.SNMPProfile.Redacted,
	}
}
