package nifcloud

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	c, err := ConfigFromEnv(envMap(map[string]string{
		EnvAccessKeyID: "AK", EnvSecretAccessKey: "SK", EnvRegion: "jp-east-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "AK" || c.SecretAccessKey != "SK" || c.Region != "jp-east-1" || c.Endpoint != "" {
		t.Errorf("config = %#v", c)
	}
	u, err := c.EndpointURL()
	if err != nil || u.String() != "https://jp-east-1.computing.api.nifcloud.com/api/" {
		t.Errorf("EndpointURL = %v, %v", u, err)
	}
	c, err = ConfigFromEnv(envMap(map[string]string{
		EnvAccessKeyID: "AK", EnvSecretAccessKey: "SK", EnvRegion: "us-east-1", EnvEndpoint: "http://127.0.0.1:8080",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := c.EndpointURL(); u.String() != "http://127.0.0.1:8080/api/" {
		t.Errorf("endpoint override = %v", u)
	}
}

func TestConfigFromEnvMissingNamesEachVariable(t *testing.T) {
	_, err := ConfigFromEnv(envMap(map[string]string{EnvAccessKeyID: "AK"}))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, want := range []string{"nifcloud: missing NIFCLOUD_SECRET_ACCESS_KEY", "nifcloud: missing NIFCLOUD_REGION"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, EnvAccessKeyID) {
		t.Errorf("error names a variable that is set: %q", msg)
	}
	_, err = ConfigFromEnv(envMap(map[string]string{EnvAccessKeyID: "AK", EnvSecretAccessKey: "SK", EnvRegion: "eu-west-1"}))
	if err == nil || !strings.Contains(err.Error(), `invalid region "eu-west-1"`) {
		t.Errorf("bad region: %v", err)
	}
	_, err = ConfigFromEnv(envMap(map[string]string{EnvAccessKeyID: "AK", EnvSecretAccessKey: "SK", EnvRegion: "jp-east-1", EnvEndpoint: "ftp://x/api/"}))
	if err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("bad endpoint: %v", err)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cloud.conf")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigFile(t *testing.T) {
	p := writeFile(t, `
; comment
# another
[Other]
foo = bar
[Global]
access-key-id = FILEAK
secret-access-key = "file secret"
region = jp-west-1
endpoint = http://127.0.0.1:9999/api/
qps = 2.5
burst = 7
`)
	c, err := LoadConfigFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "FILEAK" || c.SecretAccessKey != "file secret" || c.Region != "jp-west-1" ||
		c.Endpoint != "http://127.0.0.1:9999/api/" || c.QPS != 2.5 || c.Burst != 7 {
		t.Errorf("config = %#v", c)
	}

	// File keys win; the environment fills the gaps.
	p2 := writeFile(t, "[Global]\naccess-key-id = FILEAK\nregion = jp-east-2\n")
	c, err = LoadConfig(p2, envMap(map[string]string{
		EnvAccessKeyID: "ENVAK", EnvSecretAccessKey: "ENVSK", EnvRegion: "jp-east-1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "FILEAK" || c.SecretAccessKey != "ENVSK" || c.Region != "jp-east-2" {
		t.Errorf("merged = %#v", c)
	}

	// Missing values name both the variable and the file key.
	_, err = LoadConfig(p2, envMap(nil))
	want := "nifcloud: missing NIFCLOUD_SECRET_ACCESS_KEY (or secret-access-key in [Global] of " + p2 + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
}

func TestLoadConfigFileErrorsDoNotEchoValues(t *testing.T) {
	for name, content := range map[string]string{
		"unknown key": "[Global]\nsecret-acess-key = hunter2-secret\n",
		"no equals":   "[Global]\nhunter2-secret\n",
		"bad qps":     "[Global]\nqps = hunter2-secret\n",
		"bad burst":   "[Global]\nburst = -hunter2-secret\n",
		"bad header":  "[Global\n",
	} {
		_, err := LoadConfigFile(writeFile(t, content))
		if err == nil {
			t.Errorf("%s: want error", name)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error echoes a value: %v", name, err)
		}
		if !strings.Contains(err.Error(), ":") {
			t.Errorf("%s: error lacks a location: %v", name, err)
		}
	}
	if _, err := LoadConfigFile(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("absent file: want error")
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	c, err := New(Config{Region: "jp-east-1", AccessKeyID: "AK", SecretAccessKey: "SK"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	if cfg.Timeout != DefaultTimeout || cfg.QPS != DefaultQPS || cfg.Burst != DefaultBurst ||
		cfg.MaxAttempts != DefaultMaxAttempts || cfg.Retry != DefaultRetry() || cfg.UserAgent == "" || cfg.InsecureSkipVerify {
		t.Errorf("defaults = %v", cfg)
	}
	if c.limiter == nil {
		t.Error("default rate limiter missing")
	}
	if _, err := New(Config{Region: "jp-east-1"}); err == nil || !strings.Contains(err.Error(), EnvAccessKeyID) {
		t.Errorf("New without credentials: %v", err)
	}
	c, err = New(Config{Region: "jp-east-1", AccessKeyID: "AK", SecretAccessKey: "SK", QPS: -1, Timeout: time.Second})
	if err != nil || c.limiter != nil {
		t.Errorf("QPS<0 must disable the limiter: %v", err)
	}
}

func TestValidRegion(t *testing.T) {
	for r, want := range map[string]bool{
		"jp-east-1": true, "jp-west-2": true, "us-east-1": true, "jp-east-41": true,
		"eu-east-1": false, "jp-east": false, "jp-east-1a": false, "": false, "JP-east-1": false,
	} {
		if ValidRegion(r) != want {
			t.Errorf("ValidRegion(%q) = %v", r, !want)
		}
	}
}
