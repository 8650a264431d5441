package apiclient

import (
	"context"
	"errors"
	"net/url"

	"github.com/unet-project/unet/shared/model"
)

// Inventory is what an agent polls, as GET /api/v1/agent/inventory
// answers it. SNMPProfiles holds SECRETS (communities, v3 keys): keep an
// Inventory out of logs and error messages, and on disk only in files
// that other users cannot read.
type Inventory struct {
	// Revision is the store revision the inventory reflects at least.
	Revision int64 `json:"revision"`
	// Sites are the sites asked for, duplicates dropped.
	Sites []string `json:"sites"`
	// Nodes are the pollable nodes of the sites (live or implementing,
	// with a management address and an SNMP profile), by name.
	Nodes []model.Node `json:"nodes"`
	// SNMPProfiles are the profiles of Nodes by name, secrets included.
	SNMPProfiles map[string]model.SNMPProfile `json:"snmp_profiles"`
	// NotPollable counts the other nodes under the sites.
	NotPollable int `json:"not_pollable"`
}

// AgentInventory reads the inventory of the sites (names of locations of
// kind site): an *Error with CodeNotFound for a name that is no location,
// CodeInvalid for a location that is not a site.
func (c *Client) AgentInventory(ctx context.Context, sites []string) (*Inventory, error) {
	if len(sites) == 0 {
		return nil, errors.New("agent inventory: no site given")
	}
	inv := &Inventory{}
	err := c.do(ctx, request{method: "GET", path: "/agent/inventory", query: url.Values{"site": sites}}, inv)
	if err != nil {
		return nil, err
	}
	if inv.SNMPProfiles == nil {
		inv.SNMPProfiles = map[string]model.SNMPProfile{}
	}
	return inv, nil
}
