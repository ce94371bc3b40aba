package framework

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// Simulator admin prefixes.
const (
	NIFCLOUDAdmin  = "/_sim/nifcloud/"
	OpenStackAdmin = "/_sim/openstack/"
)

// Credentials of the simulated clouds. They are distinctive so that a test
// can search every log for them.
const (
	nifcloudSecretKey = "e2e-nifcloud-secret-5b0e7d"
	openstackPassword = "e2e-os-password-9c2a41"
	// NIFCLOUDAccessKeyID is not secret by itself, but an error text has
	// no business carrying it.
	NIFCLOUDAccessKeyID = "e2e-access-key"
)

// NIFCLOUDCreds is the key pair the simulator is started with and the
// components use (the simulator verifies every signature with it).
func NIFCLOUDCreds() []string {
	return []string{"NIFCLOUD_ACCESS_KEY_ID=" + NIFCLOUDAccessKeyID, "NIFCLOUD_SECRET_ACCESS_KEY=" + nifcloudSecretKey}
}

// SimEnv is the simulator's environment: the credentials it accepts.
func SimEnv() []string { return append(NIFCLOUDCreds(), "OS_PASSWORD="+openstackPassword) }

// Secrets are the values no component may ever log.
func Secrets() []string { return []string{nifcloudSecretKey, openstackPassword} }

// NIFCLOUDClientEnv is the environment of the CCM and the CSI driver: the
// reference's variables plus the endpoint override that points at the
// simulator.
func NIFCLOUDClientEnv(sim *Cloudsim, region string) []string {
	return append([]string{"NIFCLOUD_REGION=" + region, "NIFCLOUD_ENDPOINT=" + sim.NIFCLOUDURL}, NIFCLOUDCreds()...)
}

// AddNIFCLOUDInstance creates a running instance with private IP
// 10.0.0.<n> and public IP 198.51.100.<n>.
func AddNIFCLOUDInstance(ctx context.Context, sim *Cloudsim, id, zone string, n int) error {
	in := map[string]any{
		"instanceId": id, "instanceType": "e-medium", "zone": zone,
		"privateIp": fmt.Sprintf("10.0.0.%d", n), "publicIp": fmt.Sprintf("198.51.100.%d", n), "state": "running",
	}
	return sim.Admin(ctx, http.MethodPost, sim.NIFCLOUDURL, NIFCLOUDAdmin+"instances", in, nil)
}

// AddOpenStackServer creates an ACTIVE server with fixed address
// 10.0.0.<n> on the default "private" network and returns its ID.
func AddOpenStackServer(ctx context.Context, sim *Cloudsim, name, zone string, n int) (string, error) {
	in := map[string]any{
		"name": name, "availability_zone": zone,
		"addresses": map[string]any{"private": []map[string]any{{"addr": fmt.Sprintf("10.0.0.%d", n)}}},
	}
	var out struct {
		ID string `json:"id"`
	}
	err := sim.Admin(ctx, http.MethodPost, sim.OpenStackURL, OpenStackAdmin+"servers", in, &out)
	return out.ID, err
}

// WriteOpenStackCloudConf writes the cloud.conf an OCCM user would have,
// pointing at the simulator: password auth, the external network for
// floating IPs and the private subnet for VIPs and members.
func WriteOpenStackCloudConf(ctx context.Context, sim *Cloudsim, dir string) (string, error) {
	var st struct {
		Networks map[string]struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			External bool   `json:"external"`
			Subnets  []struct {
				ID string `json:"id"`
			} `json:"subnets"`
		} `json:"networks"`
	}
	if err := sim.Admin(ctx, http.MethodGet, sim.OpenStackURL, OpenStackAdmin+"state", nil, &st); err != nil {
		return "", err
	}
	var publicNet, privateSubnet string
	for _, n := range st.Networks {
		switch {
		case n.External:
			publicNet = n.ID
		case n.Name == "private" && len(n.Subnets) > 0:
			privateSubnet = n.Subnets[0].ID
		}
	}
	if publicNet == "" || privateSubnet == "" {
		return "", fmt.Errorf("simulator has no external network or private subnet")
	}
	conf := fmt.Sprintf(`[Global]
auth-url = %s/identity/v3
username = admin
password = %s
project-name = demo
domain-name = Default
region = RegionOne

[LoadBalancer]
floating-network-id = %s
subnet-id = %s
`, sim.OpenStackURL, openstackPassword, publicNet, privateSubnet)
	path := filepath.Join(dir, "cloud.conf")
	return path, os.WriteFile(path, []byte(conf), 0o600)
}
