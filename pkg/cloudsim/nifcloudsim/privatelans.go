package nifcloudsim

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CodeNetworkIDNotFound answers a private LAN network id that does not
// exist (the public API's naming).
const CodeNetworkIDNotFound = "Client.InvalidParameterNotFound.NetworkId"

// privateLANIDPattern is the shape of a private LAN network id.
var privateLANIDPattern = regexp.MustCompile(`^net-[0-9A-Za-z]+$`)

// PrivateLan is a seeded private LAN. JSON field names are those of the
// seed file. The shared networks net-COMMON_GLOBAL / net-COMMON_PRIVATE are
// built in and never private LANs.
type PrivateLan struct {
	NetworkID string `json:"networkId"`
	Name      string `json:"privateLanName,omitempty"`
	Zone      string `json:"zone,omitempty"`
	CIDRBlock string `json:"cidrBlock,omitempty"`
	State     string `json:"state,omitempty"` // available (default)
}

// AddPrivateLan seeds a private LAN and returns it with defaults filled
// in; an empty NetworkID gets a generated net-xxxxxxxx id.
func (s *Sim) AddPrivateLan(l PrivateLan) (PrivateLan, error) {
	var added PrivateLan
	err := s.mutate(func(time.Time) error {
		var err error
		added, err = s.addPrivateLanLocked(l)
		return err
	})
	return added, err
}

func (s *Sim) addPrivateLanLocked(l PrivateLan) (PrivateLan, error) {
	l.NetworkID = strings.TrimSpace(l.NetworkID)
	if l.NetworkID == "" {
		l.NetworkID = uniqueID("net-", func(id string) bool { return s.st.PrivateLans[id] != nil })
	}
	if l.NetworkID == netGlobal || l.NetworkID == netPrivate || !privateLANIDPattern.MatchString(l.NetworkID) {
		return l, fmt.Errorf("networkId %q is not a private LAN id (net-xxxxxxxx)", l.NetworkID)
	}
	if _, ok := s.st.PrivateLans[l.NetworkID]; ok {
		return l, errDuplicateLan(l.NetworkID)
	}
	if l.Name == "" {
		l.Name = strings.TrimPrefix(l.NetworkID, "net-")
	}
	if l.Zone == "" {
		l.Zone = defaultZone(s.region)
	}
	if l.CIDRBlock == "" {
		l.CIDRBlock = "172.16.0.0/24"
	}
	if l.State == "" {
		l.State = "available"
	}
	stored := l
	s.st.PrivateLans[l.NetworkID] = &stored
	return l, nil
}

// errDuplicateLan is the admin error for a network id already seeded.
type errDuplicateLan string

func (e errDuplicateLan) Error() string {
	return fmt.Sprintf("private LAN %q already exists", string(e))
}

// DeletePrivateLan removes a seeded private LAN.
func (s *Sim) DeletePrivateLan(networkID string) error {
	return s.mutate(func(time.Time) error {
		if _, ok := s.st.PrivateLans[networkID]; !ok {
			return fmt.Errorf("private LAN %q not found", networkID)
		}
		delete(s.st.PrivateLans, networkID)
		return nil
	})
}

func errNetworkNotFound(id string) *apiError {
	return clientErr(CodeNetworkIDNotFound, "The NetworkId '%s' does not exist.", id)
}

// describePrivateLans answers NetworkId.N and PrivateLanName.N (both empty:
// all). Any unknown id or name fails the whole call, as the API does.
func (s *Sim) describePrivateLans(p params, _ time.Time) (*node, *apiError) {
	ids, names := p.list("NetworkId"), p.list("PrivateLanName")
	var sel []*PrivateLan
	for _, id := range ids {
		l, ok := s.st.PrivateLans[id]
		if !ok {
			return nil, errNetworkNotFound(id)
		}
		sel = append(sel, l)
	}
	for _, name := range names {
		var found *PrivateLan
		for _, id := range sortedKeys(s.st.PrivateLans) {
			if l := s.st.PrivateLans[id]; l.Name == name {
				found = l
				break
			}
		}
		if found == nil {
			return nil, clientErr("Client.InvalidParameterNotFound.PrivateLanName", "The PrivateLanName '%s' does not exist.", name)
		}
		sel = append(sel, found)
	}
	if len(ids)+len(names) == 0 {
		for _, id := range sortedKeys(s.st.PrivateLans) {
			sel = append(sel, s.st.PrivateLans[id])
		}
	}
	var out []*node
	seen := map[string]bool{}
	for _, l := range sel {
		if seen[l.NetworkID] {
			continue
		}
		seen[l.NetworkID] = true
		out = append(out, group(
			tx("networkId", l.NetworkID),
			tx("privateLanName", l.Name),
			tx("availabilityZone", l.Zone),
			tx("cidrBlock", l.CIDRBlock),
			tx("state", l.State),
			tx("description", ""),
		))
	}
	return group(items("privateLanSet", out)), nil
}
