package nifcloud

import (
	"net/url"
	"reflect"
	"testing"
)

func TestFormShapes(t *testing.T) {
	f := NewForm("AuthorizeSecurityGroupIngress")
	f.Set("GroupName", "fw1")
	f.Strings("InstanceId", []string{"web1", "web2"})
	f.Members("AvailabilityZones", []string{"east-11"})
	p := f.Item("IpPermissions", 0)
	p.Str("IpProtocol", "TCP").Int("FromPort", 443).Int("ToPort", 0)
	p.Item("IpRanges", 0).Str("CidrIp", "10.0.0.0/8")
	p.Item("IpRanges", 1).Str("CidrIp", "192.168.0.0/16")
	f.Member("Listeners", 1).Int("LoadBalancerPort", 80).Int("InstancePort", 30080)
	f.Sub("HealthCheck").Str("Target", "TCP:80").Int("Interval", 10)
	f.Item("NetworkInterface", 0).Bool("IsVipNetwork", true).Item("SystemIpAddresses", 1).Set("SystemIpAddress", "10.0.0.2")
	f.Member("IPAddresses", 0).Bool("AddOnFilter", false)
	f.Str("Empty", "").Int("Zero", 0).IntAlways("ZeroKept", 0)
	var nilBool *bool
	yes := true
	f.OptBool("Unset", nilBool).OptBool("Force", &yes)
	f.Sub("LoadBalancerNames").Ints("LoadBalancerPort", []int{80, 443})

	want := url.Values{
		"Action":                              {"AuthorizeSecurityGroupIngress"},
		"Version":                             {"3.0"},
		"GroupName":                           {"fw1"},
		"InstanceId.1":                        {"web1"},
		"InstanceId.2":                        {"web2"},
		"AvailabilityZones.member.1":          {"east-11"},
		"IpPermissions.1.IpProtocol":          {"TCP"},
		"IpPermissions.1.FromPort":            {"443"},
		"IpPermissions.1.IpRanges.1.CidrIp":   {"10.0.0.0/8"},
		"IpPermissions.1.IpRanges.2.CidrIp":   {"192.168.0.0/16"},
		"Listeners.member.2.LoadBalancerPort": {"80"},
		"Listeners.member.2.InstancePort":     {"30080"},
		"HealthCheck.Target":                  {"TCP:80"},
		"HealthCheck.Interval":                {"10"},
		"NetworkInterface.1.IsVipNetwork":     {"true"},
		"NetworkInterface.1.SystemIpAddresses.2.SystemIpAddress": {"10.0.0.2"},
		"IPAddresses.member.1.AddOnFilter":                       {"false"},
		"ZeroKept":                                               {"0"},
		"Force":                                                  {"true"},
		"LoadBalancerNames.LoadBalancerPort.1":                   {"80"},
		"LoadBalancerNames.LoadBalancerPort.2":                   {"443"},
	}
	if got := f.Values(); !reflect.DeepEqual(got, want) {
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected key %q=%q", k, got[k])
			}
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("key %q = %q, want %q", k, got[k], v)
			}
		}
	}
	if f.Action() != "AuthorizeSecurityGroupIngress" {
		t.Fatalf("Action() = %q", f.Action())
	}
	// The body starts with the encoded pairs, sorted; spaces become '+'.
	g := NewForm("CreateVolume").Str("Description", "a b&c")
	if got, want := g.Encode(), "Action=CreateVolume&Description=a+b%26c&Version=3.0"; got != want {
		t.Fatalf("Encode() = %q, want %q", got, want)
	}
}

// Request encoders of the calls, checked against the keys asserted by the
// reference implementation's tests (nifcloud-facts.md).
func TestRequestEncoding(t *testing.T) {
	f := NewForm("SetFilterForLoadBalancer")
	in := &SetFilterForLoadBalancerInput{
		ListenerKey: ListenerKey{LoadBalancerName: "lb1", LoadBalancerPort: 80, InstancePort: 30000},
		FilterType:  FilterTypeAllow,
		IPAddresses: []IPAddressFilter{{IPAddress: "203.0.113.6", AddOnFilter: true}, {IPAddress: "203.0.113.7"}},
	}
	in.encode(f)
	f.Str("FilterType", in.FilterType)
	for i, ip := range in.IPAddresses {
		f.Member("IPAddresses", i).Set("IPAddress", ip.IPAddress).Bool("AddOnFilter", ip.AddOnFilter)
	}
	v := f.Values()
	for k, want := range map[string]string{
		"LoadBalancerName": "lb1", "LoadBalancerPort": "80", "InstancePort": "30000", "FilterType": "1",
		"IPAddresses.member.1.IPAddress": "203.0.113.6", "IPAddresses.member.1.AddOnFilter": "true",
		"IPAddresses.member.2.AddOnFilter": "false",
	} {
		if v.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, v.Get(k), want)
		}
	}

	sg := (&SecurityGroupIngressInput{GroupName: "fw", IPPermissions: []IPPermission{
		{IPProtocol: "TCP", FromPort: 80, ToPort: 80, InOut: InOutIn, CIDRs: []string{"0.0.0.0/0"}},
		{IPProtocol: "TCP", FromPort: 30000, ToPort: 32767, InOut: InOutIn},
	}}).form("AuthorizeSecurityGroupIngress").Values()
	if sg.Has("IpPermissions.1.ToPort") {
		t.Errorf("ToPort must be omitted when equal to FromPort")
	}
	if sg.Get("IpPermissions.2.ToPort") != "32767" || sg.Get("IpPermissions.1.IpRanges.1.CidrIp") != "0.0.0.0/0" || sg.Get("IpPermissions.1.InOut") != "IN" {
		t.Errorf("security group form = %v", sg)
	}

	u := NewForm("UpdateLoadBalancer")
	lu := &ListenerUpdate{LoadBalancerPort: 80, InstancePort: 30000, Listener: Listener{Protocol: "TCP", LoadBalancerPort: 8080, BalancingType: 2}}
	s := u.Sub("ListenerUpdate")
	s.Int("LoadBalancerPort", lu.LoadBalancerPort).Int("InstancePort", lu.InstancePort)
	lu.Listener.encode(s.Sub("Listener"))
	uv := u.Values()
	if uv.Get("ListenerUpdate.LoadBalancerPort") != "80" || uv.Get("ListenerUpdate.Listener.LoadBalancerPort") != "8080" ||
		uv.Get("ListenerUpdate.Listener.BalancingType") != "2" || uv.Has("ListenerUpdate.Listener.InstancePort") {
		t.Errorf("update form = %v", uv)
	}
}

func FuzzFormEncode(f *testing.F) {
	f.Add("Name", "value", "x y+z&=%", 3, true)
	f.Add("", "", "", 0, false)
	f.Add("IpPermissions", "ünïcode\x00\xff", "a;b", 1, true)
	f.Fuzz(func(t *testing.T, name, v1, v2 string, n int, b bool) {
		if n < 0 {
			n = -n
		}
		n %= 5
		f := NewForm("Fuzz")
		vals := make([]string, n)
		for i := range vals {
			vals[i] = v1 + v2[:len(v2)*i/(n+1)]
		}
		f.Strings(name, vals)
		f.Members(name+"M", vals)
		f.Item(name, n).Sub("S").Set("V", v2).Bool("B", b)
		f.Set(name, v1)
		want := f.Values()
		got, err := url.ParseQuery(f.Encode())
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", f.Encode(), err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip mismatch:\n got %q\nwant %q", got, want)
		}
	})
}
