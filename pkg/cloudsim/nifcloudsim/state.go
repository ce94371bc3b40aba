package nifcloudsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"time"
)

// State is everything the simulator knows. It is what gets persisted to
// Options.StatePath and what Snapshot returns (as a deep copy).
type State struct {
	Instances      map[string]*Instance      `json:"instances"`
	Volumes        map[string]*Volume        `json:"volumes"`
	LoadBalancers  map[string]*LoadBalancer  `json:"loadBalancers"`
	ElasticLBs     map[string]*ElasticLB     `json:"elasticLoadBalancers"`
	SecurityGroups map[string]*SecurityGroup `json:"securityGroups"`
	PrivateLans    map[string]*PrivateLan    `json:"privateLans"`
	// Seq numbers generated addresses and ids.
	Seq int64 `json:"seq"`
}

// Instance is a seeded server. JSON field names are those of the seed file.
type Instance struct {
	InstanceID       string    `json:"instanceId"`
	InstanceUniqueID string    `json:"instanceUniqueId,omitempty"`
	InstanceType     string    `json:"instanceType,omitempty"`
	Zone             string    `json:"zone,omitempty"`
	PrivateIP        string    `json:"privateIp,omitempty"`
	PublicIP         string    `json:"publicIp,omitempty"`
	State            string    `json:"state,omitempty"` // running | stopped
	SecurityGroup    string    `json:"securityGroup,omitempty"`
	LaunchTime       time.Time `json:"launchTime,omitempty"`
}

// Volume is an additional storage disk.
type Volume struct {
	VolumeID       string      `json:"volumeId"`
	VolumeUniqueID string      `json:"volumeUniqueId"`
	Size           int         `json:"size"` // GB
	DiskType       string      `json:"diskType"`
	Zone           string      `json:"zone"`
	Status         string      `json:"status"` // creating | available | in-use
	Description    string      `json:"description"`
	AccountingType string      `json:"accountingType"`
	CreateTime     time.Time   `json:"createTime"`
	Attachment     *Attachment `json:"attachment,omitempty"`
	// Op is the transition in progress ("create", "attach", "detach",
	// "extend"); it completes lazily once the clock passes ReadyAt.
	Op      string    `json:"op,omitempty"`
	ReadyAt time.Time `json:"readyAt,omitempty"`
	// LocalDevice / LocalDeviceError describe the real device made by
	// Options.LocalDisks in this process (informational, reset on load).
	LocalDevice      string `json:"localDevice,omitempty"`
	LocalDeviceError string `json:"localDeviceError,omitempty"`
}

// Attachment links a volume to an instance's SCSI slot (device "SCSI (0:N)").
type Attachment struct {
	InstanceID       string    `json:"instanceId"`
	InstanceUniqueID string    `json:"instanceUniqueId"`
	Slot             int       `json:"slot"`
	Status           string    `json:"status"` // attaching | attached | detaching
	AttachTime       time.Time `json:"attachTime"`
}

// HealthCheck of an L4 or elastic listener.
type HealthCheck struct {
	Target             string `json:"target"`
	Interval           int    `json:"interval"`
	UnhealthyThreshold int    `json:"unhealthyThreshold"`
	Timeout            int    `json:"timeout"`
	HealthyThreshold   int    `json:"healthyThreshold"`
}

// LoadBalancer is an L4 load balancer; a listener is keyed by
// (LoadBalancerPort, InstancePort).
type LoadBalancer struct {
	Name           string      `json:"name"`
	DNSName        string      `json:"dnsName"`
	NetworkVolume  int         `json:"networkVolume"`
	PolicyType     string      `json:"policyType"`
	AccountingType string      `json:"accountingType"`
	Zone           string      `json:"zone"`
	CreatedTime    time.Time   `json:"createdTime"`
	Listeners      []*Listener `json:"listeners"`
}

// Listener is one port triple of an L4 load balancer.
type Listener struct {
	Protocol         string      `json:"protocol"`
	LoadBalancerPort int         `json:"loadBalancerPort"`
	InstancePort     int         `json:"instancePort"`
	BalancingType    int         `json:"balancingType"`
	HealthCheck      HealthCheck `json:"healthCheck"`
	Instances        []string    `json:"instances"`
	FilterType       string      `json:"filterType"`
	IPAddresses      []string    `json:"ipAddresses"` // empty = *.*.*.*
}

// ElasticLB is a "Nifty" elastic load balancer.
type ElasticLB struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	DNSName           string             `json:"dnsName"`
	NetworkVolume     int                `json:"networkVolume"`
	AccountingType    string             `json:"accountingType"`
	Zone              string             `json:"zone"`
	State             string             `json:"state"` // pending | available
	ReadyAt           time.Time          `json:"readyAt,omitempty"`
	CreatedTime       time.Time          `json:"createdTime"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	Listeners         []*ELBListener     `json:"listeners"`
}

// NetworkInterface of an elastic load balancer.
type NetworkInterface struct {
	NetworkID         string   `json:"networkId"`
	IPAddress         string   `json:"ipAddress"`
	IsVipNetwork      bool     `json:"isVipNetwork"`
	SystemIPAddresses []string `json:"systemIpAddresses"`
}

// ELBListener is keyed by (Protocol, Port, InstancePort).
type ELBListener struct {
	Protocol      string      `json:"protocol"`
	Port          int         `json:"elasticLoadBalancerPort"`
	InstancePort  int         `json:"instancePort"`
	BalancingType int         `json:"balancingType"`
	HealthCheck   HealthCheck `json:"healthCheck"`
	Instances     []string    `json:"instances"`
}

// SecurityGroup holds firewall rules; its status is applying while a change
// is being applied (until ReadyAt), applied afterwards.
type SecurityGroup struct {
	Name    string    `json:"name"`
	Zone    string    `json:"zone"`
	Status  string    `json:"status"`
	ReadyAt time.Time `json:"readyAt,omitempty"`
	Rules   []Rule    `json:"rules"`
}

// Rule is one ip permission with one source (CIDR or group).
type Rule struct {
	IPProtocol  string    `json:"ipProtocol"`
	FromPort    int       `json:"fromPort,omitempty"`
	ToPort      int       `json:"toPort,omitempty"`
	InOut       string    `json:"inOut"`
	CidrIP      string    `json:"cidrIp,omitempty"`
	GroupName   string    `json:"groupName,omitempty"`
	Description string    `json:"description,omitempty"`
	AddDatetime time.Time `json:"addDatetime"`
}

func (r Rule) sameAs(o Rule) bool {
	return r.IPProtocol == o.IPProtocol && r.FromPort == o.FromPort && r.ToPort == o.ToPort &&
		r.InOut == o.InOut && r.CidrIP == o.CidrIP && r.GroupName == o.GroupName
}

func newState() *State {
	st := &State{}
	st.fill()
	return st
}

func (st *State) fill() {
	if st.Instances == nil {
		st.Instances = map[string]*Instance{}
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*Volume{}
	}
	if st.LoadBalancers == nil {
		st.LoadBalancers = map[string]*LoadBalancer{}
	}
	if st.ElasticLBs == nil {
		st.ElasticLBs = map[string]*ElasticLB{}
	}
	if st.SecurityGroups == nil {
		st.SecurityGroups = map[string]*SecurityGroup{}
	}
	if st.PrivateLans == nil {
		st.PrivateLans = map[string]*PrivateLan{}
	}
}

// clone deep-copies the state through JSON (every field is exported).
func (st *State) clone() State {
	data, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("nifcloudsim: encode state: %v", err))
	}
	var out State
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("nifcloudsim: decode state: %v", err))
	}
	out.fill()
	return out
}

// settleLocked completes every transition whose ReadyAt has passed. It
// reports whether anything changed. State transitions are thus derived from
// stored timestamps: no goroutines, and they survive restarts.
func (s *Sim) settleLocked(now time.Time) bool {
	changed := false
	for _, v := range s.st.Volumes {
		if v.Op == "" || now.Before(v.ReadyAt) {
			continue
		}
		switch v.Op {
		case opCreate, opAttach, opExtend:
			v.Status = "in-use"
			if v.Attachment != nil {
				v.Attachment.Status = "attached"
			} else {
				v.Status = "available"
			}
			if v.Op == opExtend {
				v.Size += extendStepGB
			}
		case opDetach:
			v.Status = "available"
			v.Attachment = nil
		}
		v.Op, v.ReadyAt = "", time.Time{}
		changed = true
	}
	for _, e := range s.st.ElasticLBs {
		if e.State == "pending" && !now.Before(e.ReadyAt) {
			e.State, e.ReadyAt = "available", time.Time{}
			changed = true
		}
	}
	for _, g := range s.st.SecurityGroups {
		if g.Status == "applying" && !now.Before(g.ReadyAt) {
			g.Status, g.ReadyAt = "applied", time.Time{}
			changed = true
		}
	}
	return changed
}

// saveLocked persists the state; the caller holds s.mu.
func (s *Sim) saveLocked() error {
	return s.store.Save(s.st)
}

// ensureGroupLocked makes sure a security group referenced by an instance
// exists.
func (s *Sim) ensureGroupLocked(name, zone string) {
	if name == "" {
		return
	}
	if _, ok := s.st.SecurityGroups[name]; ok {
		return
	}
	s.st.SecurityGroups[name] = &SecurityGroup{Name: name, Zone: zone, Status: "applied", Rules: []Rule{}}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b)
}

// uniqueID returns prefix+8 random chars not accepted by taken.
func uniqueID(prefix string, taken func(string) bool) string {
	for {
		id := prefix + randomID(8)
		if !taken(id) {
			return id
		}
	}
}

// allocIPLocked picks an address in base (a /24 written "a.b.c.") that is
// stable for key (FNV hash, linear probing past addresses in use).
func (s *Sim) allocIPLocked(base, key string, taken ...string) string {
	used := map[string]bool{}
	for _, ip := range taken {
		used[ip] = true
	}
	for _, lb := range s.st.LoadBalancers {
		used[lb.DNSName] = true
	}
	for _, e := range s.st.ElasticLBs {
		for _, ni := range e.NetworkInterfaces {
			used[ni.IPAddress] = true
			for _, ip := range ni.SystemIPAddresses {
				used[ip] = true
			}
		}
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	start := int(h.Sum32() % 254)
	for i := 0; i < 254; i++ {
		ip := fmt.Sprintf("%s%d", base, (start+i)%254+1)
		if !used[ip] {
			return ip
		}
	}
	return base + "254"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
