package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullConf exercises every key OCCM and cinder-csi read.
const fullConf = `# OCCM cloud.conf
[Global]
auth-url = https://keystone.example.com:5000/v3
username = k8s-admin
user-id = 8f3a
password = "s3cr3t;#pass"   ; quoted so ; and # are kept
tenant-id = 0123456789abcdef
tenant-name = kube
domain-id = default
domain-name = Default
tenant-domain-id = pd-id
tenant-domain-name = ProjDomain
user-domain-id = ud-id
user-domain-name = UserDomain
region = RegionOne
application-credential-id = appcred-id
application-credential-name = appcred-name
application-credential-secret = appcred-s3cret
ca-file = /etc/kubernetes/ca.pem
cert-file = /etc/kubernetes/client.pem
key-file = /etc/kubernetes/client.key
tls-insecure = false
os-endpoint-type = internalURL
trust-id = trust-1
trustee-id = trustee-1
trustee-password = trustee-s3cret
use-clouds = false
clouds-file = /etc/openstack/clouds.yaml
cloud = mycloud

[LoadBalancer]
enabled = true
lb-version = v2
subnet-id = 6e6d-subnet
member-subnet-id = member-subnet
network-id = net-1
floating-network-id = ext-net
floating-subnet-id = ext-subnet
floating-subnet = public-*
floating-subnet-tags = tag1&tag2
lb-method = least_connections
lb-provider = ovn
create-monitor = yes
monitor-delay = 10s
monitor-timeout = 4s
monitor-max-retries = 2
monitor-max-retries-down = 5
manage-security-groups = true
internal-lb = false
node-selector = "env=prod, lb"
cascade-delete = false
flavor-id = flavor-small
availability-zone = az1
enable-ingress-hostname = true
ingress-hostname-suffix = sslip.io
default-tls-container-ref = https://barbican/v1/containers/abc
container-store = external
max-shared-lb = 4
provider-requires-serial-api-calls = true

[LoadBalancerClass "internetFacing"]
floating-network-id = ext-net-2
floating-subnet-id = ext-subnet-2
floating-subnet = ~^pub
floating-subnet-tags = a
network-id = net-2
subnet-id = subnet-2
member-subnet-id = member-2

[LoadBalancerClass "internal"]
subnet-id = subnet-3

[Networking]
ipv6-support-disabled = true
public-network-name = public
public-network-name = public2
internal-network-name = private
internal-network-name = private2
address-sort-order = 10.0.0.0/8, 192.168.1.0/24

[Route]
router-id = router-1

[BlockStorage]
node-volume-attach-limit = 128
rescan-on-resize = true
ignore-volume-az = true
ignore-volume-microversion = true

[Metadata]
search-order = metadataService,configDrive
request-timeout = 5s
`

func TestParseFull(t *testing.T) {
	c, err := Parse("cloud.conf", []byte(fullConf))
	if err != nil {
		t.Fatal(err)
	}
	wantG := Global{
		AuthURL: "https://keystone.example.com:5000/v3", Username: "k8s-admin", UserID: "8f3a",
		Password: "s3cr3t;#pass", ProjectID: "0123456789abcdef", ProjectName: "kube",
		DomainID: "default", DomainName: "Default", ProjectDomainID: "pd-id", ProjectDomainName: "ProjDomain",
		UserDomainID: "ud-id", UserDomainName: "UserDomain", Region: "RegionOne",
		ApplicationCredentialID: "appcred-id", ApplicationCredentialName: "appcred-name",
		ApplicationCredentialSecret: "appcred-s3cret", CAFile: "/etc/kubernetes/ca.pem",
		CertFile: "/etc/kubernetes/client.pem", KeyFile: "/etc/kubernetes/client.key",
		EndpointType: EndpointInternal, TrustID: "trust-1", TrusteeID: "trustee-1", TrusteePassword: "trustee-s3cret",
		CloudsFile: "/etc/openstack/clouds.yaml", Cloud: "mycloud", line: 2,
	}
	if !reflect.DeepEqual(c.Global, wantG) {
		t.Errorf("Global =\n%#v\nwant\n%#v", c.Global, wantG)
	}
	if c.Global.Password.Reveal() != "s3cr3t;#pass" {
		t.Errorf("password = %q", c.Global.Password.Reveal())
	}
	wantLB := LoadBalancer{
		Enabled: true, LBVersion: "v2", SubnetID: "6e6d-subnet", MemberSubnetID: "member-subnet", NetworkID: "net-1",
		FloatingNetworkID: "ext-net", FloatingSubnetID: "ext-subnet", FloatingSubnet: "public-*", FloatingSubnetTags: "tag1&tag2",
		LBMethod: "LEAST_CONNECTIONS", LBProvider: "ovn", CreateMonitor: true, MonitorDelay: 10 * time.Second,
		MonitorTimeout: 4 * time.Second, MonitorMaxRetries: 2, MonitorMaxRetriesDown: 5, ManageSecurityGroups: true,
		NodeSelector: map[string]string{"env": "prod", "lb": ""}, CascadeDelete: false, FlavorID: "flavor-small",
		AvailabilityZone: "az1", EnableIngressHostname: true, IngressHostnameSuffix: "sslip.io",
		DefaultTLSContainerRef: "https://barbican/v1/containers/abc", ContainerStore: "external", MaxSharedLB: 4,
		ProviderRequiresSerialAPICalls: true,
	}
	if !reflect.DeepEqual(c.LoadBalancer, wantLB) {
		t.Errorf("LoadBalancer =\n%+v\nwant\n%+v", c.LoadBalancer, wantLB)
	}
	wantCls := map[string]*LoadBalancerClass{
		"internetFacing": {FloatingNetworkID: "ext-net-2", FloatingSubnetID: "ext-subnet-2", FloatingSubnet: "~^pub",
			FloatingSubnetTags: "a", NetworkID: "net-2", SubnetID: "subnet-2", MemberSubnetID: "member-2"},
		"internal": {SubnetID: "subnet-3"},
	}
	if !reflect.DeepEqual(c.LoadBalancerClasses, wantCls) {
		t.Errorf("classes = %+v", c.LoadBalancerClasses)
	}
	wantNet := Networking{
		IPv6SupportDisabled: true,
		PublicNetworkName:   []string{"public", "public2"},
		InternalNetworkName: []string{"private", "private2"},
		AddressSortOrder:    []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24")},
	}
	if !reflect.DeepEqual(c.Networking, wantNet) {
		t.Errorf("Networking = %+v", c.Networking)
	}
	if c.Route.RouterID != "router-1" {
		t.Errorf("router-id = %q", c.Route.RouterID)
	}
	if want := (BlockStorage{128, true, true, true}); c.BlockStorage != want {
		t.Errorf("BlockStorage = %+v", c.BlockStorage)
	}
	if !reflect.DeepEqual(c.Metadata, Metadata{SearchOrder: []string{SearchMetadataService, SearchConfigDrive}, RequestTimeout: 5 * time.Second}) {
		t.Errorf("Metadata = %+v", c.Metadata)
	}
	if len(c.Warnings) == 0 {
		t.Errorf("expected warnings for lb-version/clouds-file")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("cloud.conf", []byte("[Global]\nauth-url=http://ks/v3\nusername=u\npassword=p\ndomain-name=Default\n"))
	if err != nil {
		t.Fatal(err)
	}
	lb := c.LoadBalancer
	checks := []struct {
		name      string
		got, want any
	}{
		{"enabled", lb.Enabled, true},
		{"lb-method", lb.LBMethod, "ROUND_ROBIN"},
		{"lb-provider", lb.LBProvider, "amphora"},
		{"create-monitor", lb.CreateMonitor, false},
		{"monitor-delay", lb.MonitorDelay, 5 * time.Second},
		{"monitor-timeout", lb.MonitorTimeout, 3 * time.Second},
		{"monitor-max-retries", lb.MonitorMaxRetries, 1},
		{"monitor-max-retries-down", lb.MonitorMaxRetriesDown, 3},
		{"cascade-delete", lb.CascadeDelete, true},
		{"internal-lb", lb.InternalLB, false},
		{"manage-security-groups", lb.ManageSecurityGroups, false},
		{"max-shared-lb", lb.MaxSharedLB, 2},
		{"ingress-hostname-suffix", lb.IngressHostnameSuffix, "nip.io"},
		{"container-store", lb.ContainerStore, "barbican"},
		{"enable-ingress-hostname", lb.EnableIngressHostname, false},
		{"node-volume-attach-limit", c.BlockStorage.NodeVolumeAttachLimit, 256},
		{"search-order", c.Metadata.SearchOrder, []string{"configDrive", "metadataService"}},
		{"request-timeout", c.Metadata.RequestTimeout, 60 * time.Second},
		{"os-endpoint-type", c.Global.EndpointType, "public"},
		{"tls-insecure", c.Global.TLSInsecure, false},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.Warnings) != 0 {
		t.Errorf("unexpected warnings %v", c.Warnings)
	}
	if g, ok := c.Cloud(""); !ok || g.Username != "u" {
		t.Errorf("Cloud(\"\") = %v %v", g, ok)
	}
}

const authPrefix = "[Global]\nauth-url=http://ks/v3\nusername=u\npassword=p\ndomain-name=Default\n"

func TestErrors(t *testing.T) {
	cases := []struct {
		name, conf, want string
	}{
		{"unknown key", authPrefix + "[LoadBalancer]\n\nfoo-bar = 1\n", `cloud.conf:8: [LoadBalancer] foo-bar: unknown key`},
		{"unknown section", authPrefix + "# c\n[Foo]\n", `cloud.conf:7: unknown section [Foo]`},
		{"bad duration", authPrefix + "[LoadBalancer]\nmonitor-delay = 5x\n", `cloud.conf:7: [LoadBalancer] monitor-delay: invalid duration "5x"`},
		{"zero duration", authPrefix + "[LoadBalancer]\nmonitor-delay = 0s\n", `cloud.conf:7: [LoadBalancer] monitor-delay: invalid duration "0s"`},
		{"bad bool", authPrefix + "[LoadBalancer]\ncreate-monitor = maybe\n", `cloud.conf:7: [LoadBalancer] create-monitor: invalid boolean "maybe"`},
		{"bad int", authPrefix + "[LoadBalancer]\nmax-shared-lb = two\n", `cloud.conf:7: [LoadBalancer] max-shared-lb: invalid integer "two"`},
		{"int range", authPrefix + "[LoadBalancer]\nmonitor-max-retries = 11\n", `cloud.conf:7: [LoadBalancer] monitor-max-retries: value 11 out of range 1..10`},
		{"bad lb-method", authPrefix + "[LoadBalancer]\nlb-method = RANDOM\n", `cloud.conf:7: [LoadBalancer] lb-method: invalid value "RANDOM"`},
		{"bad endpoint type", "[Global]\nos-endpoint-type = private\n", `cloud.conf:2: [Global] os-endpoint-type: invalid value "private"`},
		{"bad search-order", authPrefix + "[Metadata]\nsearch-order = configDrive,foo\n", `cloud.conf:7: [Metadata] search-order: invalid element "foo"`},
		{"search-order 3 items", authPrefix + "[Metadata]\nsearch-order = configDrive,metadataService,configDrive\n", `cloud.conf:7: [Metadata] search-order: duplicate element "configDrive"`},
		{"bad cidr", authPrefix + "[Networking]\naddress-sort-order = 10.0.0.0/33\n", `cloud.conf:7: [Networking] address-sort-order: invalid CIDR "10.0.0.0/33"`},
		{"class without name", authPrefix + "[LoadBalancerClass]\n", `cloud.conf:6: [LoadBalancerClass] section requires a name`},
		{"unknown class key", authPrefix + "[LoadBalancerClass \"x\"]\nlb-method=ROUND_ROBIN\n", `cloud.conf:7: [LoadBalancerClass "x"] lb-method: unknown key`},
		{"named LoadBalancer", authPrefix + "[LoadBalancer \"x\"]\n", `cloud.conf:6: [LoadBalancer "x"] section does not take a name`},
		{"key before section", "auth-url = x\n", `cloud.conf:1: auth-url: key outside of any section`},
		{"unterminated quote", "[Global]\npassword = \"abc\n", `cloud.conf:2: password: unterminated quoted value`},
		{"bad header", "[Global\n", `cloud.conf:1: invalid section header`},
		{"missing auth-url", "[Global]\nusername=u\npassword=p\n", `cloud.conf:1: [Global] auth-url: required`},
		{"missing password", "[Global]\nauth-url=http://ks/v3\nusername=u\ndomain-name=d\n", `[Global] password: password or application credential`},
		{"missing global", "[LoadBalancer]\n", `[Global] section is missing`},
		{"use-clouds", "[Global]\nuse-clouds=true\n", `[Global] use-clouds: clouds.yaml is not supported`},
		{"appcred no secret", "[Global]\nauth-url=http://ks/v3\napplication-credential-id=x\n", `application-credential-secret: required`},
		{"user no domain", "[Global]\nauth-url=http://ks/v3\nusername=u\npassword=p\n", `[Global] username: requires user-domain-name`},
		{"bad auth-url", "[Global]\nauth-url=ks:5000\nuser-id=u\npassword=p\n", `[Global] auth-url: invalid URL`},
		{"monitor timeout > delay", authPrefix + "[LoadBalancer]\nmonitor-timeout=10s\n", `[LoadBalancer] monitor-timeout: 10s must not exceed monitor-delay 5s`},
		{"named global invalid", authPrefix + "[Global \"b\"]\nauth-url=http://x/v3\n", `cloud.conf:6: [Global "b"] password:`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("cloud.conf", []byte(tc.conf))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			var pe *ParseError
			if strings.Contains(tc.want, "cloud.conf:") && strings.Contains(tc.want, "] ") && !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestSyntax(t *testing.T) {
	conf := "\uFEFF" + `  # leading comment
; another comment
[global]   ; case-insensitive section
AUTH-URL = http://ks:5000/v3   # trailing comment
User-Id=uid
password = "  spaced \"quoted\" \\ value "
region = Region One
[Global "second"]
auth-url = http://other/v3
application-credential-id = ac
application-credential-secret = multi \
line
[loadbalancer]
create-monitor
enabled = off
[Networking]
public-network-name = a
public-network-name =
public-network-name = b
`
	c, err := Parse("c.conf", []byte(strings.ReplaceAll(conf, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.AuthURL != "http://ks:5000/v3" || c.Global.UserID != "uid" {
		t.Errorf("global = %+v", c.Global)
	}
	if got := c.Global.Password.Reveal(); got != `  spaced "quoted" \ value ` {
		t.Errorf("password = %q", got)
	}
	if c.Global.Region != "Region One" {
		t.Errorf("region = %q", c.Global.Region)
	}
	g, ok := c.Cloud("second")
	if !ok || g.ApplicationCredentialID != "ac" || g.ApplicationCredentialSecret.Reveal() != "multi line" {
		t.Errorf("second = %+v (secret %q)", g, g.ApplicationCredentialSecret.Reveal())
	}
	if !c.LoadBalancer.CreateMonitor || c.LoadBalancer.Enabled {
		t.Errorf("bare key / off: %+v", c.LoadBalancer)
	}
	if !reflect.DeepEqual(c.Networking.PublicNetworkName, []string{"b"}) {
		t.Errorf("blank value should reset multi-valued key: %v", c.Networking.PublicNetworkName)
	}
}

func TestRedaction(t *testing.T) {
	c, err := Parse("cloud.conf", []byte(fullConf))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"s3cr3t;#pass", "appcred-s3cret", "trustee-s3cret"}
	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("cfg", "config", c, "global", c.Global, "pw", c.Global.Password)
	jsonGlobal, _ := json.Marshal(c.Global)
	outputs := map[string]string{
		"String":      c.String(),
		"%v":          fmt.Sprintf("%v", c),
		"%+v":         fmt.Sprintf("%+v", c),
		"%#v":         fmt.Sprintf("%#v", c),
		"global %v":   fmt.Sprintf("%v", c.Global),
		"global %+v":  fmt.Sprintf("%+v", &c.Global),
		"global %#v":  fmt.Sprintf("%#v", c.Global),
		"secret %s":   fmt.Sprintf("%s %v %q", c.Global.Password, c.Global.Password, c.Global.Password),
		"json global": string(jsonGlobal),
		"slog":        slogBuf.String(),
		"MarshalLog":  fmt.Sprint(c.MarshalLog()),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s leaks %q: %s", name, s, out)
			}
		}
	}
	if !strings.Contains(c.String(), "<redacted>") || !strings.Contains(c.String(), "k8s-admin") {
		t.Errorf("String() = %s", c.String())
	}
	if Secret("").String() != "" {
		t.Errorf("empty secret should render empty")
	}
}

func TestLoadFilesMerge(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.conf")
	b := filepath.Join(dir, "b.conf")
	writeConf(t, a, authPrefix+"[Networking]\npublic-network-name=p1\n")
	writeConf(t, b, "[Global]\nregion=R2\n[Networking]\npublic-network-name=p2\n[BlockStorage]\nnode-volume-attach-limit=999\n")
	c, err := LoadFiles(Options{}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Global.Region != "R2" || c.Global.Username != "u" {
		t.Errorf("merge: %+v", c.Global)
	}
	if !reflect.DeepEqual(c.Networking.PublicNetworkName, []string{"p1", "p2"}) {
		t.Errorf("multi merge: %v", c.Networking.PublicNetworkName)
	}
	if c.BlockStorage.NodeVolumeAttachLimit != 256 || len(c.Warnings) != 1 {
		t.Errorf("clamp: %d %v", c.BlockStorage.NodeVolumeAttachLimit, c.Warnings)
	}
	_, err = LoadFiles(Options{}, filepath.Join(dir, "missing"))
	if err == nil {
		t.Error("missing file: no error")
	}
	// Bad file name appears in error.
	writeConf(t, b, "[Nope]\n")
	if _, err := Load(b); err == nil || !strings.Contains(err.Error(), b+":1: unknown section [Nope]") {
		t.Errorf("err = %v", err)
	}
}

func TestSkipAuthValidation(t *testing.T) {
	c, err := ParseWithOptions(Options{SkipAuthValidation: true}, "cloud.conf", []byte("[BlockStorage]\nnode-volume-attach-limit = 16\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BlockStorage.NodeVolumeAttachLimit != 16 {
		t.Errorf("limit = %d", c.BlockStorage.NodeVolumeAttachLimit)
	}
	if _, ok := c.Cloud(""); ok {
		t.Error("Cloud(\"\") should be absent")
	}
}

func TestAuthVariants(t *testing.T) {
	ok := []string{
		"[Global]\nauth-url=https://ks/v3\napplication-credential-id=id\napplication-credential-secret=s\n",
		"[Global]\nauth-url=https://ks/v3\napplication-credential-name=n\nusername=u\nuser-domain-name=D\napplication-credential-secret=s\n",
		"[Global]\nauth-url=https://ks/v3\nuser-id=uid\npassword=p\nproject-id=pid\n",
		"[Global]\nauth-url=https://ks/v3\nusername=u\npassword=p\nuser-domain-id=default\nproject-name=demo\nproject-domain-id=default\n",
		"[Global]\nauth-url=https://ks/v3\ntrust-id=t\ntrustee-id=tid\ntrustee-password=tp\n",
		"[Global]\nauth-url=https://ks/v3\ntoken=abc\n",
	}
	for i, conf := range ok {
		if _, err := Parse("cloud.conf", []byte(conf)); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	bad := map[string]string{
		"[Global]\nauth-url=https://ks/v3\nuser-id=uid\npassword=p\nproject-name=demo\n": "project-name: requires",
		"[Global]\nauth-url=https://ks/v3\ntrust-id=t\ntrustee-id=tid\n":                 "trustee-password: required",
		"[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword=p\ncert-file=/c\n":        "cert-file and key-file",
	}
	for conf, want := range bad {
		if _, err := Parse("cloud.conf", []byte(conf)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", conf, err, want)
		}
	}
}

func TestErrorsDoNotEchoSecrets(t *testing.T) {
	// A syntax error on a secret line must not print the secret.
	_, err := Parse("cloud.conf", []byte("[Global]\npassword = \"hunter2\\q\"\n"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(fullConf))
	f.Add([]byte(authPrefix))
	f.Add([]byte("[Global \"x\\\"y\"]\nkey = \"a\\\nb\"\n"))
	f.Add([]byte("[LoadBalancer]\nmonitor-delay=5s\n[Metadata]\nsearch-order=configDrive\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.conf", data)
		if err != nil {
			if c != nil {
				t.Fatal("config returned with error")
			}
			return
		}
		_ = c.String()
		if c.Global.AuthURL == "" && len(c.Clouds) == 0 {
			t.Fatal("validated config without auth-url")
		}
	})
}

func writeConf(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWrappedSecretNotEchoed(t *testing.T) {
	// A password wrapped onto following lines (without a trailing '\')
	// is mis-parsed as new keys or invalid lines; the error must name
	// file:line but show no part of the password.
	parts := []string{"Xq7pwPART1", "zz9PART2", "PART3"}
	cases := map[string]string{
		"bare key":         "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\nzz9PART2\n",
		"invalid char":     "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\nzz9PART2!PART3\n",
		"invalid key name": "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\n9zz9PART2\n",
		"looks like kv":    "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\nzz9PART2 = PART3\"\n",
		"looks like hdr":   "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\n[zz9PART2\n",
		"continuation":     "[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = Xq7pwPART1\\\n\"zz9PART2\n",
		"secret escape":    "[Global]\nauth-url=https://ks/v3\napplication-credential-id=i\napplication-credential-secret = \"Xq7pwPART1\\zzz9PART2\"\n",
		"trustee":          "[Global]\nauth-url=https://ks/v3\ntrust-id=t\ntrustee-id=i\ntrustee-password = Xq7pwPART1\n%zz9PART2\n",
	}
	for name, conf := range cases {
		_, err := Parse("cloud.conf", []byte(conf))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		for _, p := range parts {
			if strings.Contains(msg, p) || strings.Contains(msg, p[:4]) {
				t.Errorf("%s: error leaks %q: %s", name, p, msg)
			}
		}
		if !strings.HasPrefix(msg, "cloud.conf:") {
			t.Errorf("%s: error lacks file:line: %s", name, msg)
		}
	}
	// The line of the wrapped part is named.
	_, err := Parse("cloud.conf", []byte(cases["bare key"]))
	if err == nil || !strings.Contains(err.Error(), "cloud.conf:5:") || !strings.Contains(err.Error(), "password") {
		t.Errorf("err = %v", err)
	}
	// An ordinary unknown key is still named.
	_, err = Parse("cloud.conf", []byte("[Global]\nauth-url=https://ks/v3\nuser-id=u\npassword = p\nregion=R\nusrname=x\n"))
	if err == nil || !strings.Contains(err.Error(), "cloud.conf:6: [Global] usrname: unknown key") {
		t.Errorf("err = %v", err)
	}
}

func TestAuthURLUserinfoRefused(t *testing.T) {
	for _, u := range []string{"https://admin:Hunter2pw@ks.example/v3", "https://Hunter2pw@ks.example/v3", "http://admin:Hunter2pw@ks:5000"} {
		for _, opts := range []Options{{}, {SkipAuthValidation: true}} {
			_, err := ParseWithOptions(opts, "cloud.conf", []byte("[Global]\nauth-url = "+u+"\nuser-id=u\npassword=p\n"))
			if err == nil {
				t.Errorf("%s accepted", u)
				continue
			}
			if !strings.Contains(err.Error(), "cloud.conf:2: [Global] auth-url:") || strings.Contains(err.Error(), "Hunter2pw") {
				t.Errorf("%s: err = %v", u, err)
			}
		}
	}
}

func TestAuthURLUserinfoRedactedInLogForms(t *testing.T) {
	// Built programmatically (bypassing the parser), userinfo must still
	// not reach any printed form.
	c := Default()
	c.Global.AuthURL = "https://admin:Hunter2pw@ks.example/v3"
	c.Clouds = map[string]*Global{"b": {AuthURL: "https://bob:Hunter2pw@ks2/v3"}}
	var slogBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&slogBuf, nil)).Info("cfg", "config", c, "global", c.Global)
	jsonGlobal, _ := json.Marshal(c.Global)
	outputs := map[string]string{
		"String":      c.String(),
		"%v":          fmt.Sprintf("%v", c),
		"%#v":         fmt.Sprintf("%#v", c),
		"global %v":   fmt.Sprintf("%v", c.Global),
		"global %+v":  fmt.Sprintf("%+v", &c.Global),
		"global %#v":  fmt.Sprintf("%#v", c.Global),
		"json global": string(jsonGlobal),
		"slog":        slogBuf.String(),
		"LogValue":    c.LogValue().String(),
		"MarshalLog":  fmt.Sprint(c.MarshalLog()),
	}
	for name, out := range outputs {
		if strings.Contains(out, "Hunter2pw") {
			t.Errorf("%s leaks userinfo: %s", name, out)
		}
	}
	if !strings.Contains(c.String(), "admin:***@ks.example") {
		t.Errorf("String() = %s", c.String())
	}
	if got := RedactURL("https://ks/v3"); got != "https://ks/v3" {
		t.Errorf("RedactURL changed a clean URL: %s", got)
	}
}
