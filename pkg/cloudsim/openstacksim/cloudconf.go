package openstacksim

import "fmt"

// CloudConf is the cloud.conf [Global] section that logs in as the
// simulator's default user (admin/secret, project demo, domain Default)
// at baseURL, the simulator's root URL; tests append further sections.
func CloudConf(baseURL string) string {
	return fmt.Sprintf(`[Global]
auth-url = %s/identity/v3
username = admin
password = secret
user-domain-name = Default
project-name = demo
project-domain-name = Default
region = RegionOne
`, baseURL)
}
