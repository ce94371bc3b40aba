package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	nifccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	"github.com/kumo-project/kumo/pkg/nifcloud"
	"github.com/kumo-project/kumo/pkg/openstack/config"
)

// configCase is one invalid configuration; load returns the loader's
// error. Loading a configuration makes no cloud call by construction, so
// only the error text is checked.
type configCase struct {
	name   string
	load   func(t *testing.T) error
	fields []string
	gap    string
}

func runConfigCases(t *testing.T, tl *tally, area string, cases []configCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.load(t)
			t.Logf("error: %v", err)
			tl.verdict(t, area, c.gap, errorProblems(err, c.fields...))
		})
	}
}

// goodGlobal is a valid [Global] section (lines 1-4).
const goodGlobal = "[Global]\nauth-url = https://keystone.example:5000/v3\nusername = admin\npassword = secret\nuser-domain-name = Default\n"

func cloudConf(text string) func(*testing.T) error {
	return func(*testing.T) error {
		_, err := config.Parse("cloud.conf", []byte(text))
		return err
	}
}

func TestOpenStackCloudConf(t *testing.T) {
	// goodGlobal ends on line 5; the line numbers below count from there.
	cases := []configCase{
		{"unknown key", cloudConf(goodGlobal + "usrname = admin\n"), []string{"usrname", "cloud.conf:6"}, ""},
		{"unknown key in LoadBalancer", cloudConf(goodGlobal + "[LoadBalancer]\nfloating-network = ext\n"), []string{"floating-network", "cloud.conf:7"}, ""},
		{"unknown section", cloudConf(goodGlobal + "[Loadbalancers]\n"), []string{"Loadbalancers", "cloud.conf:6"}, ""},
		{"bad bool tls-insecure", cloudConf(goodGlobal + "tls-insecure = sometimes\n"), []string{"tls-insecure", "cloud.conf:6"}, ""},
		{"bad bool create-monitor", cloudConf(goodGlobal + "[LoadBalancer]\ncreate-monitor = maybe\n"), []string{"create-monitor", "cloud.conf:7"}, ""},
		{"duration without unit", cloudConf(goodGlobal + "[LoadBalancer]\nmonitor-delay = 5\n"), []string{"monitor-delay", "cloud.conf:7"}, ""},
		{"negative duration", cloudConf(goodGlobal + "[LoadBalancer]\nmonitor-timeout = -1s\n"), []string{"monitor-timeout", "cloud.conf:7"}, ""},
		{"integer out of range", cloudConf(goodGlobal + "[LoadBalancer]\nmonitor-max-retries = 11\n"), []string{"monitor-max-retries", "cloud.conf:7"}, ""},
		{"lb-method unknown", cloudConf(goodGlobal + "[LoadBalancer]\nlb-method = FASTEST\n"), []string{"lb-method", "cloud.conf:7"}, ""},
		{"endpoint type unknown", cloudConf(goodGlobal + "os-endpoint-type = private\n"), []string{"os-endpoint-type", "cloud.conf:6"}, ""},
		{"monitor-timeout above monitor-delay", cloudConf(goodGlobal + "[LoadBalancer]\nmonitor-delay = 3s\nmonitor-timeout = 5s\n"),
			[]string{"monitor-timeout", "monitor-delay"}, ""},
		{"auth-url missing", cloudConf("[Global]\nusername = admin\npassword = secret\n"), []string{"auth-url", "cloud.conf:1"}, ""},
		{"auth-url not http", cloudConf("[Global]\nauth-url = ftp://keystone\nusername = admin\npassword = secret\n"), []string{"auth-url", "cloud.conf:1"}, ""},
		{"Global missing", cloudConf("[LoadBalancer]\ncreate-monitor = true\n"), []string{"Global"}, ""},
		{"key outside a section", cloudConf("auth-url = https://keystone\n" + goodGlobal), []string{"auth-url", "cloud.conf:1"}, ""},
		{"cert-file without key-file", cloudConf(goodGlobal + "cert-file = /etc/kumo/client.crt\n"), []string{"cert-file", "key-file"}, ""},
		{"application-credential-secret alone", cloudConf("[Global]\nauth-url = https://keystone/v3\napplication-credential-secret = s\n"),
			[]string{"application-credential-secret"}, ""},
		{"use-clouds", cloudConf(goodGlobal + "use-clouds = true\n"), []string{"use-clouds"}, ""},
		{"unterminated quote", cloudConf(goodGlobal + "region = \"RegionOne\n"), []string{"cloud.conf:6"}, ""},
		{"named section that takes no name", cloudConf(goodGlobal + "[LoadBalancer \"x\"]\n"), []string{"LoadBalancer", "cloud.conf:6"}, ""},
	}
	tl := newTally()
	runConfigCases(t, tl, "config: openstack cloud.conf", cases)
	t.Log("\n" + tl.summary())
}

// env is a fake environment.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// fullEnv has every required variable.
func fullEnv(drop ...string) func(string) string {
	kv := []string{nifcloud.EnvAccessKeyID, "AKEXAMPLE", nifcloud.EnvSecretAccessKey, "secret", nifcloud.EnvRegion, "jp-east-1"}
	var keep []string
	for i := 0; i < len(kv); i += 2 {
		if !strings.Contains(strings.Join(drop, ","), kv[i]) {
			keep = append(keep, kv[i], kv[i+1])
		}
	}
	return env(keep...)
}

// nifFile loads text as a config file through nifcloud.LoadConfig.
func nifFile(text string, getenv func(string) string) func(*testing.T) error {
	return func(t *testing.T) error {
		p := filepath.Join(t.TempDir(), "nifcloud.conf")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := nifcloud.LoadConfig(p, getenv)
		return err
	}
}

func nifEnv(getenv func(string) string) func(*testing.T) error {
	return func(*testing.T) error {
		_, err := nifcloud.LoadConfig("", getenv)
		return err
	}
}

// ccmConf loads text as the CCM's --cloud-config.
func ccmConf(text string, getenv func(string) string) func(*testing.T) error {
	return func(*testing.T) error {
		_, err := nifccm.LoadCloudConfig(strings.NewReader(text), getenv)
		return err
	}
}

func TestNIFCLOUDConfig(t *testing.T) {
	none := env()
	cases := []configCase{
		{"environment empty", nifEnv(none), []string{nifcloud.EnvAccessKeyID, nifcloud.EnvSecretAccessKey, nifcloud.EnvRegion}, ""},
		{"secret key missing", nifEnv(fullEnv(nifcloud.EnvSecretAccessKey)), []string{nifcloud.EnvSecretAccessKey}, ""},
		{"region malformed", nifEnv(env(nifcloud.EnvAccessKeyID, "AK", nifcloud.EnvSecretAccessKey, "s", nifcloud.EnvRegion, "tokyo")),
			[]string{"region", "tokyo"}, ""},
		{"endpoint not http", nifEnv(env(nifcloud.EnvAccessKeyID, "AK", nifcloud.EnvSecretAccessKey, "s", nifcloud.EnvRegion, "jp-east-1",
			nifcloud.EnvEndpoint, "ftp://api.example/")), []string{"endpoint"}, ""},
		{"file without secret", nifFile("[Global]\naccess-key-id = AK\nregion = jp-east-1\n", none),
			[]string{nifcloud.EnvSecretAccessKey, "secret-access-key"}, ""},
		{"file qps not a number", nifFile("[Global]\nqps = fast\n", fullEnv()), []string{"qps", "nifcloud.conf:2"}, ""},
		{"file qps NaN", nifFile("[Global]\nqps = NaN\n", fullEnv()), []string{"qps"}, ""},
		{"file burst negative", nifFile("[Global]\nburst = -1\n", fullEnv()), []string{"burst", "nifcloud.conf:2"}, ""},
		{"file unknown key", nifFile("[Global]\nacess-key-id = AK\n", fullEnv()), []string{"acess-key-id", "nifcloud.conf:2"}, ""},
		{"file malformed header", nifFile("[Global\nregion = jp-east-1\n", fullEnv()), []string{"nifcloud.conf:1", "section header"}, ""},
		{"file line without '='", nifFile("[Global]\nregion jp-east-1\n", fullEnv()), []string{"nifcloud.conf:2", "key = value"}, ""},
		{"ccm config missing region", ccmConf("[Global]\naccess-key-id = AK\nsecret-access-key = s\n", none),
			[]string{nifcloud.EnvRegion, "region"}, ""},
		{"ccm config qps not a number", ccmConf("[Global]\nqps = 10/s\n", fullEnv()), []string{"qps", "line 2"}, ""},
		{"ccm config cache age zero", ccmConf("[CCM]\ninstance-cache-max-age = 0s\n", fullEnv()), []string{"instance-cache-max-age", "line 2"}, ""},
		{"ccm config unknown CCM key", ccmConf("[CCM]\ncache-age = 20s\n", fullEnv()), []string{"cache-age", "line 2"}, ""},
	}
	tl := newTally()
	runConfigCases(t, tl, "config: nifcloud", cases)
	t.Log("\n" + tl.summary())
}
