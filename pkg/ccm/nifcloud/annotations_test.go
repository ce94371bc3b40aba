package nifcloud

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseServiceRejectsNamingAnnotationAndAllowedValues(t *testing.T) {
	cases := []struct {
		ann     map[string]string
		ranges  []string
		name    string
		allowed string
	}{
		{map[string]string{AnnotationNetworkVolume: "50"}, nil, AnnotationNetworkVolume, "100-2000"},
		{map[string]string{AnnotationLBType: LBTypeElastic, AnnotationNetworkVolume: "1000"}, nil, AnnotationNetworkVolume, "100-500"},
		{map[string]string{AnnotationAccountingType: "3"}, nil, AnnotationAccountingType, `"1" (monthly)`},
		{map[string]string{AnnotationPolicyType: "fast"}, nil, AnnotationPolicyType, `"standard" or "ats"`},
		{map[string]string{AnnotationHealthCheckProtocol: "HTTP"}, nil, AnnotationHealthCheckProtocol, `"TCP" or "ICMP"`},
		{map[string]string{AnnotationHealthCheckUnhealthy: "11"}, nil, AnnotationHealthCheckUnhealthy, "1 to 10"},
		{map[string]string{AnnotationNIC1NetworkID: "net-COMMON_GLOBAL"}, nil, AnnotationNIC1NetworkID, "elb only"},
		{map[string]string{AnnotationLBType: LBTypeElastic, AnnotationNIC1NetworkID: "net-abc123"}, nil, AnnotationNIC1IPAddress, "required for a private LAN"},
		{map[string]string{AnnotationLBType: LBTypeElastic, AnnotationVIPNetwork: "2"}, nil, AnnotationVIPNetwork, "network-interface-2"},
		{map[string]string{AnnotationLBType: LBTypeElastic}, []string{"10.0.0.0/8"}, fieldLoadBalancerSourceRanges, "lb only"},
	}
	for _, c := range cases {
		svc := testService(testUID, c.ann, port{80, 30080})
		svc.Spec.LoadBalancerSourceRanges = c.ranges
		_, err := parseService(svc)
		if err == nil || !strings.Contains(err.Error(), c.name) || !strings.Contains(err.Error(), c.allowed) {
			t.Errorf("annotations %v: err = %v, want one naming %s and %q", c.ann, err, c.name, c.allowed)
		}
	}
}

func TestParseServiceDefaultsAndFilters(t *testing.T) {
	svc := testService(testUID, nil, port{80, 30080})
	svc.Spec.LoadBalancerSourceRanges = []string{"198.51.100.7/32", "203.0.113.0/24"}
	spec, err := parseService(svc)
	if err != nil {
		t.Fatal(err)
	}
	want := &lbSpec{Type: LBTypeL4, BalancingType: 1, HealthCheck: hcSpec{"TCP", 10, 1},
		Ports: []portSpec{{Name: "pa", Port: 80, InstancePort: 30080}}, Filters: []string{"198.51.100.7", "203.0.113.0/24"}}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("spec = %+v, want %+v", spec, want)
	}
	svc.Spec.LoadBalancerSourceRanges = []string{"0.0.0.0/0", "198.51.100.7/32"}
	if spec, err = parseService(svc); err != nil || len(spec.Filters) != 0 {
		t.Fatalf("allow-all range: filters %v err %v, want none", spec.Filters, err)
	}
	elb := testService(testUID, map[string]string{AnnotationLBType: LBTypeElastic}, port{80, 30080})
	if spec, err = parseService(elb); err != nil || len(spec.NICs) != 1 || spec.NICs[0].NetworkID != "net-COMMON_GLOBAL" || spec.VIPNetwork != 1 {
		t.Fatalf("elb defaults: %+v err %v, want one net-COMMON_GLOBAL VIP interface", spec, err)
	}
}

func TestProviderIDRoundTrip(t *testing.T) {
	id := formatProviderID("east-11", "i-abcd1234")
	if id != "nifcloud:///east-11/i-abcd1234" {
		t.Fatalf("formatProviderID = %q", id)
	}
	for in, want := range map[string][2]string{
		id:                        {"east-11", "i-abcd1234"},
		"nifcloud:////i-abcd1234": {"", "i-abcd1234"},
		"i-abcd1234":              {"", "i-abcd1234"},
	} {
		z, u, err := parseProviderID(in)
		if err != nil || z != want[0] || u != want[1] {
			t.Errorf("parseProviderID(%q) = %q, %q, %v; want %v", in, z, u, err, want)
		}
	}
	for _, bad := range []string{"", "aws:///x/i-1", "nifcloud:///east-11/vol-1", "nifcloud://east-11/i-1"} {
		if _, _, err := parseProviderID(bad); err == nil || !strings.Contains(err.Error(), "nifcloud:///east-11/i-abcd1234") {
			t.Errorf("parseProviderID(%q): err = %v, want one showing the expected form", bad, err)
		}
	}
}
