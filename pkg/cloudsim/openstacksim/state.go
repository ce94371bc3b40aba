package openstacksim

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// State is everything the simulator knows; Snapshot returns a deep copy.
type State struct {
	Flavors            map[string]*Flavor            `json:"flavors"`
	Servers            map[string]*Server            `json:"servers"`
	Networks           map[string]*Network           `json:"networks"`
	Ports              map[string]*Port              `json:"ports"`
	FloatingIPs        map[string]*FloatingIP        `json:"floating_ips"`
	SecurityGroups     map[string]*SecurityGroup     `json:"security_groups"`
	SecurityGroupRules map[string]*SecurityGroupRule `json:"security_group_rules"`
	Routers            map[string]*Router            `json:"routers"`
	Volumes            map[string]*Volume            `json:"volumes"`
	Snapshots          map[string]*VolumeSnapshot    `json:"snapshots"`
	Backups            map[string]*VolumeBackup      `json:"backups"`
	VolumeTypes        map[string]*VolumeType        `json:"volume_types"`
	LoadBalancers      map[string]*LoadBalancer      `json:"load_balancers"`
	Listeners          map[string]*Listener          `json:"listeners"`
	Pools              map[string]*Pool              `json:"pools"`
	Members            map[string]*Member            `json:"members"`
	HealthMonitors     map[string]*HealthMonitor     `json:"health_monitors"`
	TLSContainers      map[string]*TLSContainer      `json:"tls_containers"`
	Tokens             map[string]*Token             `json:"tokens"`
	CinderZones        []string                      `json:"cinder_zones,omitempty"`
	VolumeQuotaGB      int                           `json:"volume_quota_gb,omitempty"`
	LocalServers       []string                      `json:"local_servers"`
	MetadataServer     string                        `json:"metadata_server"`
}

func newState() *State {
	st := &State{}
	st.normalize()
	return st
}

// normalize replaces nil maps (from an older or partial state file).
func (st *State) normalize() {
	initMap(&st.Flavors)
	initMap(&st.Servers)
	initMap(&st.Networks)
	initMap(&st.Ports)
	initMap(&st.FloatingIPs)
	initMap(&st.SecurityGroups)
	initMap(&st.SecurityGroupRules)
	initMap(&st.Routers)
	initMap(&st.Volumes)
	initMap(&st.Snapshots)
	initMap(&st.Backups)
	initMap(&st.VolumeTypes)
	initMap(&st.LoadBalancers)
	initMap(&st.Listeners)
	initMap(&st.Pools)
	initMap(&st.Members)
	initMap(&st.HealthMonitors)
	initMap(&st.TLSContainers)
	initMap(&st.Tokens)
}

func initMap[V any](m *map[string]V) {
	if *m == nil {
		*m = map[string]V{}
	}
}

// Snapshot returns a deep copy of the current state (after applying due
// transitions), e.g. to audit leaked volumes, LBs, floating IPs or rules.
func (s *Sim) Snapshot() State {
	var out State
	s.read(func() {
		data, err := json.Marshal(s.state)
		if err == nil {
			_ = json.Unmarshal(data, &out)
		}
	})
	out.normalize()
	return out
}

// after is the completion time of a transition named name from now.
func (s *Sim) after(name string) time.Time {
	return s.now().Add(s.controls.TransitionDelay(name))
}

// settleLocked completes every transition whose time has come and reports
// whether anything changed.
func (s *Sim) settleLocked() bool {
	now := s.now()
	changed := false
	due := func(p *Transition) bool { return p != nil && !now.Before(p.At) }
	for _, id := range sortedKeys(s.state.Volumes) {
		v := s.state.Volumes[id]
		if !due(v.Pending) {
			continue
		}
		changed = true
		p := v.Pending
		v.Pending = nil
		v.Updated = p.At
		switch v.Status {
		case "attaching":
			v.Status = p.To
			s.localAttachLocked(v)
		case "detaching":
			v.Status = p.To
			v.Attachments = nil
			s.localDetachLocked(v)
		case "extending":
			v.Status = p.To
			v.Size = p.Size
			s.localResizeLocked(v)
		case "deleting":
			s.localDeleteLocked(v)
			delete(s.state.Volumes, id)
		case "retyping":
			v.Status = p.To
			if p.VolumeType != "" {
				v.VolumeType = p.VolumeType
			}
		default:
			v.Status = p.To
		}
	}
	for id, sn := range s.state.Snapshots {
		if !due(sn.Pending) {
			continue
		}
		changed = true
		if sn.Pending.To == "deleted" {
			delete(s.state.Snapshots, id)
			if s.opts.LocalDisks != nil {
				_ = s.opts.LocalDisks.Delete(snapshotDataID(id)) // nothing to detach; best effort
			}
			continue
		}
		sn.Status, sn.Updated, sn.Pending = sn.Pending.To, sn.Pending.At, nil
	}
	if s.settleBackupsLocked(due) {
		changed = true
	}
	for id, lb := range s.state.LoadBalancers {
		if !due(lb.Pending) {
			continue
		}
		changed = true
		if lb.Pending.To == "DELETED" {
			s.removeLBLocked(id)
			continue
		}
		lb.ProvisioningStatus, lb.Updated, lb.Pending = lb.Pending.To, lb.Pending.At, nil
	}
	return changed
}

// seedDefaults creates the flavor, networks and router of a fresh cloud.
func (s *Sim) seedDefaults() error {
	now := s.now()
	s.state.Flavors["3"] = &Flavor{ID: "3", Name: "m1.medium", VCPUs: 2, RAM: 4096, Disk: 40}
	s.state.Flavors["2"] = &Flavor{ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 20}
	pub, err := s.addNetworkLocked(Network{Name: "public", External: true,
		Subnets: []Subnet{{Name: "public-subnet", CIDR: "203.0.113.0/24", IPVersion: 4}}})
	if err != nil {
		return err
	}
	if _, err := s.addNetworkLocked(Network{Name: "private",
		Subnets: []Subnet{{Name: "private-subnet", CIDR: "10.0.0.0/24", IPVersion: 4}}}); err != nil {
		return err
	}
	g := s.createSGLocked("default", "Default security group", s.users[0].ProjectID)
	for _, et := range []string{"IPv4", "IPv6"} {
		r := &SecurityGroupRule{ID: newUUID(), SecurityGroupID: g.ID, Direction: "ingress", EtherType: et,
			RemoteGroupID: g.ID, ProjectID: g.ProjectID, Created: now}
		s.state.SecurityGroupRules[r.ID] = r
	}
	id := newUUID()
	s.state.Routers[id] = &Router{ID: id, Name: "router1", ExternalNetworkID: pub.ID,
		ProjectID: s.users[0].ProjectID, Created: now, Updated: now}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// byCreated returns the map's values ordered by creation time, then ID, so
// paging with markers is stable.
func byCreated[V any](m map[string]V, created func(V) time.Time, id func(V) string) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := created(out[i]), created(out[j])
		if !ci.Equal(cj) {
			return ci.Before(cj)
		}
		return strings.Compare(id(out[i]), id(out[j])) < 0
	})
	return out
}
