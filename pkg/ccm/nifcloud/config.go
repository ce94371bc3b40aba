package nifcloud

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// Defaults of ProviderConfig.
const (
	DefaultInstanceCacheMaxAge = 20 * time.Second
	DefaultELBWaitTimeout      = 10 * time.Minute
	DefaultSGWaitTimeout       = 3 * time.Minute
)

// DefaultPollPolicy is the backoff between polls of elastic load balancer
// and security group states: 2s growing to 20s.
func DefaultPollPolicy() backoff.Policy {
	return backoff.Policy{Initial: 2 * time.Second, Max: 20 * time.Second, Factor: 1.5, Jitter: 0.1}
}

// ProviderConfig holds the provider's own settings (the API client is
// configured separately, see nifcloud.Config).
type ProviderConfig struct {
	// Region is reported as the nodes' region (topology.kubernetes.io/region).
	Region string
	// InstanceCacheMaxAge bounds the age of the instance snapshot that serves
	// InstancesV2 and node→instance lookups (default 20s). A lookup miss
	// forces at most one refresh per InstanceCacheMaxAge.
	InstanceCacheMaxAge time.Duration
	// PollPolicy paces polling of elastic LB / security group states
	// (default DefaultPollPolicy()).
	PollPolicy backoff.Policy
	// ELBWaitTimeout bounds the wait for an elastic LB to become available
	// after a change (default 10m); SGWaitTimeout the wait for a security
	// group to be applied (default 3m).
	ELBWaitTimeout time.Duration
	SGWaitTimeout  time.Duration
	// Now is the clock (default time.Now); tests override it.
	Now func() time.Time
}

func (c ProviderConfig) withDefaults() ProviderConfig {
	if c.InstanceCacheMaxAge <= 0 {
		c.InstanceCacheMaxAge = DefaultInstanceCacheMaxAge
	}
	if c.PollPolicy == (backoff.Policy{}) {
		c.PollPolicy = DefaultPollPolicy()
	}
	if c.ELBWaitTimeout <= 0 {
		c.ELBWaitTimeout = DefaultELBWaitTimeout
	}
	if c.SGWaitTimeout <= 0 {
		c.SGWaitTimeout = DefaultSGWaitTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// CloudConfig is the parsed --cloud-config file plus environment.
//
// File format (INI, compatible with nifcloud.LoadConfigFile):
//
//	[Global]
//	access-key-id = …        ; or env NIFCLOUD_ACCESS_KEY_ID
//	secret-access-key = …    ; or env NIFCLOUD_SECRET_ACCESS_KEY
//	region = jp-east-1       ; or env NIFCLOUD_REGION
//	endpoint = https://…     ; or env NIFCLOUD_ENDPOINT (optional)
//	qps = 10                 ; optional
//	burst = 20               ; optional
//
//	[CCM]
//	instance-cache-max-age = 20s   ; optional
//
// A key set in the file wins over the environment; the environment fills
// the keys the file leaves empty.
type CloudConfig struct {
	API      nifcloud.Config
	Provider ProviderConfig
}

// LoadCloudConfig reads the cloud config from r (nil: no file) and the
// environment (getenv nil means os.Getenv). The error names every missing
// setting, both as environment variable and as file key.
func LoadCloudConfig(r io.Reader, getenv func(string) string) (CloudConfig, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var cc CloudConfig
	if r != nil {
		data, err := io.ReadAll(r)
		if err != nil {
			return CloudConfig{}, fmt.Errorf("nifcloud: reading cloud config: %w", err)
		}
		if err := parseCloudConfig(data, &cc); err != nil {
			return CloudConfig{}, err
		}
	}
	fill := func(dst *string, env string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(env))
		}
	}
	fill(&cc.API.AccessKeyID, nifcloud.EnvAccessKeyID)
	fill(&cc.API.SecretAccessKey, nifcloud.EnvSecretAccessKey)
	fill(&cc.API.Region, nifcloud.EnvRegion)
	fill(&cc.API.Endpoint, nifcloud.EnvEndpoint)
	var errs []error
	miss := func(v, env, key string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("nifcloud: missing %s (environment) or %s in [Global] of the --cloud-config file", env, key))
		}
	}
	miss(cc.API.AccessKeyID, nifcloud.EnvAccessKeyID, "access-key-id")
	miss(cc.API.SecretAccessKey, nifcloud.EnvSecretAccessKey, "secret-access-key")
	miss(cc.API.Region, nifcloud.EnvRegion, "region")
	if len(errs) > 0 {
		return CloudConfig{}, errors.Join(errs...)
	}
	if err := cc.API.Validate(); err != nil {
		return CloudConfig{}, err
	}
	cc.Provider.Region = cc.API.Region
	return cc, nil
}

func parseCloudConfig(data []byte, cc *CloudConfig) error {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("nifcloud: cloud config line %d: malformed section header", n)
			}
			section = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("nifcloud: cloud config line %d: expected key = value", n)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = unquote(strings.TrimSpace(v))
		switch section {
		case "global":
			if err := setGlobal(&cc.API, k, v); err != nil {
				return fmt.Errorf("nifcloud: cloud config line %d: %w", n, err)
			}
		case "ccm":
			switch k {
			case "instance-cache-max-age":
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return fmt.Errorf("nifcloud: cloud config line %d: instance-cache-max-age must be a positive duration such as 20s", n)
				}
				cc.Provider.InstanceCacheMaxAge = d
			default:
				return fmt.Errorf("nifcloud: cloud config line %d: unknown key %q in [CCM] (allowed: instance-cache-max-age)", n, k)
			}
		}
	}
	return sc.Err()
}

func setGlobal(c *nifcloud.Config, k, v string) error {
	switch k {
	case "access-key-id":
		c.AccessKeyID = v
	case "secret-access-key":
		c.SecretAccessKey = v
	case "region":
		c.Region = v
	case "endpoint":
		c.Endpoint = v
	case "qps":
		q, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errors.New("qps must be a number")
		}
		c.QPS = q
	case "burst":
		b, err := strconv.Atoi(v)
		if err != nil || b < 0 {
			return errors.New("burst must be a non-negative integer")
		}
		c.Burst = b
	default:
		// Never echo the value: it could be a secret on the wrong line.
		return fmt.Errorf("unknown key %q in [Global] (allowed: access-key-id, secret-access-key, region, endpoint, qps, burst)", k)
	}
	return nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}
