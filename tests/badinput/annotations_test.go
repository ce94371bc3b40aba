package badinput

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2/ktesting"

	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	"github.com/kumo-project/kumo/pkg/ccm/openstack/octavia"
	"github.com/kumo-project/kumo/tests/ccmtest"
)

// svcCase is one invalid Service: mutate turns a valid Service into the
// bad one; fields must all be named by the error and by a Warning event.
type svcCase struct {
	name   string
	mutate func(s *v1.Service)
	fields []string
	gap    string // known shortcoming elsewhere (see tally.verdict)
}

// annotate sets annotations.
func annotate(kv ...string) func(*v1.Service) {
	return func(s *v1.Service) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
	}
}

// both applies two mutations.
func both(a, b func(*v1.Service)) func(*v1.Service) {
	return func(s *v1.Service) { a(s); b(s) }
}

func ports(n int, proto v1.Protocol) func(*v1.Service) {
	return func(s *v1.Service) {
		s.Spec.Ports = nil
		for i := range n {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: fmt.Sprintf("p%d", i), Protocol: proto,
				Port: int32(80 + i), NodePort: int32(30080 + i)})
		}
	}
}

func sourceRanges(r ...string) func(*v1.Service) {
	return func(s *v1.Service) { s.Spec.LoadBalancerSourceRanges = r }
}

// runServiceCases calls EnsureLoadBalancer for every case and checks the
// error, the Warning event and that the cloud was not changed.
func runServiceCases(t *testing.T, tl *tally, area string, lb cloudprovider.LoadBalancer, events *record.FakeRecorder,
	nodes []*v1.Node, mutated func() []string, cases []svcCase) {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := ccmtest.LBService("bad", 0xbad00000, i)
			c.mutate(svc)
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			_, err := lb.EnsureLoadBalancer(cctx, clusterName, svc, nodes)
			t.Logf("error: %v", err)
			problems := errorProblems(err, c.fields...)
			var warnings []string
			for len(events.Events) > 0 {
				if ev := <-events.Events; strings.HasPrefix(ev, v1.EventTypeWarning+" ") {
					warnings = append(warnings, ev)
				}
			}
			ev := strings.Join(warnings, "\n")
			for _, f := range c.fields {
				if !namesField(ev, f) {
					problems = append(problems, fmt.Sprintf("no Warning event names %s (events: %q)", f, warnings))
				}
			}
			m := mutated()
			if len(m) > 0 {
				problems = append(problems, fmt.Sprintf("mutating cloud calls: %v", m))
			}
			if err == nil || len(m) > 0 {
				// A wrongly accepted Service must not stay behind.
				if derr := lb.EnsureLoadBalancerDeleted(cctx, clusterName, svc); derr != nil {
					t.Logf("cleanup: %v", derr)
				}
				mutated()
			}
			tl.verdict(t, area, c.gap, problems)
		})
	}
}

func TestNIFCLOUDServiceAnnotations(t *testing.T) {
	nif := startNIFCLOUD(t)
	p, err := nifccm.NewProvider(nif.api, nifccm.ProviderConfig{Region: nifRegion, PollPolicy: fastPoll})
	if err != nil {
		t.Fatal(err)
	}
	events := record.NewFakeRecorder(100)
	p.SetEventRecorder(events)
	nodes := []*v1.Node{ccmtest.ReadyNode("node00", "10.1.0.11"), ccmtest.ReadyNode("node01", "10.1.0.12")}
	elb := annotate(nifccm.AnnotationLBType, nifccm.LBTypeElastic)
	const (
		nic1ID  = nifccm.AnnotationNIC1NetworkID
		nic1IP  = nifccm.AnnotationNIC1IPAddress
		nic1Sys = nifccm.AnnotationNIC1SystemIPAddresses
		legacy  = "service.beta.kubernetes.io/load-balancer-source-ranges"
	)
	cases := []svcCase{
		{"lb-type unknown", annotate(nifccm.AnnotationLBType, "nlb"), []string{nifccm.AnnotationLBType}, ""},
		{"network-volume not a step", annotate(nifccm.AnnotationNetworkVolume, "15"), []string{nifccm.AnnotationNetworkVolume}, ""},
		{"network-volume not a number", annotate(nifccm.AnnotationNetworkVolume, "fast"), []string{nifccm.AnnotationNetworkVolume}, ""},
		{"network-volume above elb limit", both(elb, annotate(nifccm.AnnotationNetworkVolume, "1000")), []string{nifccm.AnnotationNetworkVolume}, ""},
		{"accounting-type unknown", annotate(nifccm.AnnotationAccountingType, "3"), []string{nifccm.AnnotationAccountingType}, ""},
		{"policy-type unknown", annotate(nifccm.AnnotationPolicyType, "fast"), []string{nifccm.AnnotationPolicyType}, ""},
		{"policy-type with elb", both(elb, annotate(nifccm.AnnotationPolicyType, "standard")), []string{nifccm.AnnotationPolicyType}, ""},
		{"balancing-type unknown", annotate(nifccm.AnnotationBalancingType, "3"), []string{nifccm.AnnotationBalancingType}, ""},
		{"healthcheck-protocol HTTP", annotate(nifccm.AnnotationHealthCheckProtocol, "HTTP"), []string{nifccm.AnnotationHealthCheckProtocol}, ""},
		{"healthcheck-interval too short", annotate(nifccm.AnnotationHealthCheckInterval, "4"), []string{nifccm.AnnotationHealthCheckInterval}, ""},
		{"healthcheck-interval too long", annotate(nifccm.AnnotationHealthCheckInterval, "301"), []string{nifccm.AnnotationHealthCheckInterval}, ""},
		{"unhealthy-threshold zero", annotate(nifccm.AnnotationHealthCheckUnhealthy, "0"), []string{nifccm.AnnotationHealthCheckUnhealthy}, ""},
		{"unhealthy-threshold not a number", annotate(nifccm.AnnotationHealthCheckUnhealthy, "eleven"), []string{nifccm.AnnotationHealthCheckUnhealthy}, ""},
		{"four ports on lb", ports(4, v1.ProtocolTCP), []string{"spec.ports"}, ""},
		{"UDP port", ports(1, v1.ProtocolUDP), []string{"spec.ports[p0].protocol"}, ""},
		{"no ports", ports(0, v1.ProtocolTCP), []string{"spec.ports"}, ""},
		{"duplicate port", func(s *v1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: "again", Protocol: v1.ProtocolTCP, Port: 80, NodePort: 30081})
		}, []string{"spec.ports[again].port"}, ""},
		{"no node port", func(s *v1.Service) { s.Spec.Ports[0].NodePort = 0 }, []string{"spec.ports[http].nodePort"}, ""},
		{"source range prefix too long", sourceRanges("10.0.0.0/33"), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"source range not a CIDR", sourceRanges("10.0.0.1"), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"source range IPv6", sourceRanges("2001:db8::/32"), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"legacy source-range annotation", annotate(legacy, "10.0.0.0/8,bogus"), []string{legacy}, ""},
		{"source ranges with elb", both(elb, sourceRanges("203.0.113.0/24")), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"loadBalancerIP set", func(s *v1.Service) { s.Spec.LoadBalancerIP = "203.0.113.10" }, []string{"spec.loadBalancerIP"}, ""},
		{"elb NIC annotation on lb", annotate(nic1ID, "net-COMMON_PRIVATE"), []string{nic1ID}, ""},
		{"elb NIC network id malformed", both(elb, annotate(nic1ID, "lan-1")), []string{nic1ID}, ""},
		{"elb private LAN without addresses", both(elb, annotate(nic1ID, "net-abc123")), []string{nic1IP, nic1Sys}, ""},
		{"elb private LAN bad system IPs", both(elb, annotate(nic1ID, "net-abc123", nic1IP, "10.2.0.10", nic1Sys, "10.2.0.11")), []string{nic1Sys}, ""},
		{"elb private LAN that does not exist", both(elb, annotate(nic1ID, "net-nosuchlan", nic1IP, "10.2.0.10", nic1Sys, "10.2.0.11,10.2.0.12")),
			[]string{nic1ID}, ""},
		{"elb vip-network 3", both(elb, annotate(nifccm.AnnotationVIPNetwork, "3")), []string{nifccm.AnnotationVIPNetwork}, ""},
		{"elb vip-network 2 without NIC 2", both(elb, annotate(nifccm.AnnotationVIPNetwork, "2")), []string{nifccm.AnnotationVIPNetwork}, ""},
		{"several bad annotations at once", annotate(nifccm.AnnotationAccountingType, "9", nifccm.AnnotationBalancingType, "0",
			nifccm.AnnotationHealthCheckInterval, "1"),
			[]string{nifccm.AnnotationAccountingType, nifccm.AnnotationBalancingType, nifccm.AnnotationHealthCheckInterval}, ""},
	}
	tl := newTally()
	runServiceCases(t, tl, "service annotations (nifcloud)", p, events, nodes, nif.mutations, cases)
	if s := nif.sim.Snapshot(); len(s.LoadBalancers)+len(s.ElasticLBs) > 0 {
		t.Errorf("load balancers left in the cloud: %d lb, %d elb", len(s.LoadBalancers), len(s.ElasticLBs))
	}
	t.Log("\n" + tl.summary())
}

func TestOctaviaServiceAnnotations(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	osc := startOpenStack(t, ctx)
	events := record.NewFakeRecorder(100)
	lb, err := octavia.New(octavia.Options{Clients: osc.clients, Config: osc.cfg.LoadBalancer, ClusterName: clusterName, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*v1.Node{ccmtest.ReadyNode("node00", "10.0.0.100"), ccmtest.ReadyNode("node01", "10.0.0.101")}
	a := func(key, value string) svcCase {
		return svcCase{name: strings.TrimPrefix(key, "loadbalancer.openstack.org/") + "=" + value,
			mutate: annotate(key, value), fields: []string{key}}
	}
	dual := func(policy v1.IPFamilyPolicy, fams ...v1.IPFamily) func(*v1.Service) {
		return func(s *v1.Service) { s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = &policy, fams }
	}
	cases := []svcCase{
		a(octavia.AnnLBMethod, "FASTEST"),
		a(octavia.AnnLBMethod, "round_robin"),
		a(octavia.AnnTimeoutClientData, "-1"),
		a(octavia.AnnTimeoutMemberConnect, "5s"),
		a(octavia.AnnTimeoutMemberData, "31536000001"),
		a(octavia.AnnTimeoutTCPInspect, "1.5"),
		a(octavia.AnnConnectionLimit, "-2"),
		a(octavia.AnnConnectionLimit, "2147483648"),
		a(octavia.AnnEnableHealthMonitor, "yes"),
		a(octavia.AnnHMDelay, "0"),
		a(octavia.AnnHMTimeout, "86401"),
		a(octavia.AnnHMMaxRetries, "11"),
		a(octavia.AnnHMMaxRetriesDown, "0"),
		{"health-monitor-timeout above delay", annotate(octavia.AnnHMDelay, "3", octavia.AnnHMTimeout, "5"), []string{octavia.AnnHMTimeout}, ""},
		a(octavia.AnnProxyProtocol, "v3"),
		a(octavia.AnnXForwardedFor, "TRUE"),
		{"proxy-protocol with x-forwarded-for", annotate(octavia.AnnProxyProtocol, "true", octavia.AnnXForwardedFor, "true"),
			[]string{octavia.AnnProxyProtocol, octavia.AnnXForwardedFor}, ""},
		a(octavia.AnnKeepFloatingIP, "yes"),
		a(octavia.AnnInternal, "1"),
		a(octavia.AnnSourceRanges, "10.0.0.0/8,bogus"),
		{"source range prefix too long", sourceRanges("10.0.0.0/33"), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"source ranges without an IPv4 CIDR", sourceRanges("2001:db8::/32"), []string{"spec.loadBalancerSourceRanges"}, ""},
		{"loadBalancerIP not an address", func(s *v1.Service) { s.Spec.LoadBalancerIP = "lb.example.com" }, []string{"spec.loadBalancerIP"}, ""},
		{"ICMP port", ports(1, v1.Protocol("ICMP")), []string{"spec.ports"}, ""},
		{"no ports", ports(0, v1.ProtocolTCP), []string{"ports"}, ""},
		{"ipFamilies twice IPv4", dual(v1.IPFamilyPolicyPreferDualStack, v1.IPv4Protocol, v1.IPv4Protocol), []string{"spec.ipFamilies"}, ""},
		{"RequireDualStack with one family", dual(v1.IPFamilyPolicyRequireDualStack, v1.IPv4Protocol), []string{"spec.ipFamilyPolicy"}, ""},
		a(octavia.AnnFloatingNetworkID, "no-such-network"),
		a(octavia.AnnSubnetID, "no-such-subnet"),
		a(octavia.AnnLoadBalancerID, "no-such-load-balancer"),
	}
	tl := newTally()
	runServiceCases(t, tl, "service annotations (octavia)", lb, events, nodes, osc.mutations, cases)
	if s := osc.sim.Snapshot(); len(s.LoadBalancers)+len(s.FloatingIPs) > 0 {
		t.Errorf("left in the cloud: %d load balancers, %d floating IPs", len(s.LoadBalancers), len(s.FloatingIPs))
	}
	t.Log("\n" + tl.summary())
}
