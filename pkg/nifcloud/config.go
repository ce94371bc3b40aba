package nifcloud

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
)

// Environment variables read by ConfigFromEnv / LoadConfig. The first three
// are the ones the reference cloud-controller-manager and CSI driver use.
const (
	EnvAccessKeyID     = "NIFCLOUD_ACCESS_KEY_ID"
	EnvSecretAccessKey = "NIFCLOUD_SECRET_ACCESS_KEY"
	EnvRegion          = "NIFCLOUD_REGION"
	EnvEndpoint        = "NIFCLOUD_ENDPOINT"
)

// Keys of the [Global] section of the config file.
const (
	fileKeyAccessKeyID     = "access-key-id"
	fileKeySecretAccessKey = "secret-access-key"
	fileKeyRegion          = "region"
	fileKeyEndpoint        = "endpoint"
	fileKeyQPS             = "qps"
	fileKeyBurst           = "burst"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultTotalTimeout bounds one call with its retries.
	DefaultTotalTimeout = 90 * time.Second
	DefaultQPS          = 10.0
	DefaultBurst        = 20
	DefaultMaxAttempts  = 5
	// EndpointTemplate is the public endpoint; %s is the region.
	EndpointTemplate = "https://%s.computing.api.nifcloud.com/api/"
	redacted         = "<redacted>"
)

// RegionPattern is the syntax of a NIFCLOUD region name.
const RegionPattern = `^(us|jp)-\w+-\d+$`

// DefaultRetry returns the retry backoff used when Config.Retry is zero:
// 500ms doubling up to 20s, with 20% jitter.
func DefaultRetry() backoff.Policy {
	return backoff.Policy{Initial: 500 * time.Millisecond, Max: 20 * time.Second, Factor: 2, Jitter: 0.2}
}

// ValidRegion reports whether region matches RegionPattern.
func ValidRegion(region string) bool {
	return regexp.MustCompile(RegionPattern).MatchString(region)
}

// Config configures a Client. The zero values of the optional fields take
// the defaults documented on each field.
type Config struct {
	// Region, e.g. "jp-east-1"; must match ^(us|jp)-\w+-\d+$.
	Region string
	// Endpoint overrides the regional endpoint
	// (https://{region}.computing.api.nifcloud.com/api/), e.g.
	// "http://127.0.0.1:8080/api/" for the simulator. A missing path means /api/.
	Endpoint string
	// AccessKeyID and SecretAccessKey sign every request (signature v2).
	AccessKeyID     string
	SecretAccessKey string
	// HTTPClient sends requests; nil builds one honouring InsecureSkipVerify.
	HTTPClient *http.Client
	// Timeout bounds each attempt (default 30s); the caller's ctx bounds all.
	Timeout time.Duration
	// TotalTimeout bounds one call including retries and backoff (default
	// 90s; negative: only ctx bounds it).
	TotalTimeout time.Duration
	// QPS and Burst configure the client-side token bucket (default 10/20).
	// A negative QPS disables rate limiting.
	QPS   float64
	Burst int
	// Retry is the backoff between attempts (default DefaultRetry()) and
	// MaxAttempts the number of attempts including the first (default 5;
	// 1 disables retries).
	Retry       backoff.Policy
	MaxAttempts int
	// Metrics records per-action metrics; nil records nothing.
	Metrics *cloudmetrics.Recorder
	// UserAgent is sent as User-Agent (default "kumo-nifcloud").
	UserAgent string
	// InsecureSkipVerify disables TLS verification of the endpoint. Only for
	// test endpoints; default false.
	InsecureSkipVerify bool
}

// String describes c with the credentials redacted, so a Config can be
// logged or printed with %v / %+v safely.
func (c Config) String() string {
	return fmt.Sprintf("nifcloud.Config{Region:%q Endpoint:%q AccessKeyID:%q SecretAccessKey:%s Timeout:%s QPS:%g Burst:%d MaxAttempts:%d InsecureSkipVerify:%t}",
		c.Region, c.redactedEndpoint(), maskKey(c.AccessKeyID), maskSecret(c.SecretAccessKey),
		c.Timeout, c.QPS, c.Burst, c.MaxAttempts, c.InsecureSkipVerify)
}

// GoString makes %#v redacting too.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the credentials redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("region", c.Region),
		slog.String("endpoint", c.redactedEndpoint()),
		slog.String("accessKeyID", maskKey(c.AccessKeyID)),
		slog.String("secretAccessKey", maskSecret(c.SecretAccessKey)),
		slog.Duration("timeout", c.Timeout),
		slog.Float64("qps", c.QPS),
		slog.Int("burst", c.Burst),
	)
}

// MarshalLog implements logr.Marshaler (used by klog) with the credentials
// redacted.
func (c Config) MarshalLog() any { return c.String() }

func (c Config) redactedEndpoint() string {
	if c.Endpoint == "" {
		return ""
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return redacted
	}
	return u.Redacted()
}

// maskKey keeps the first 4 characters of an access key id, which is not a
// secret but still need not be printed whole.
func maskKey(k string) string {
	if k == "" {
		return ""
	}
	if len(k) <= 4 {
		return redacted
	}
	return k[:4] + "…"
}

func maskSecret(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// EndpointURL returns the endpoint the client talks to.
func (c Config) EndpointURL() (*url.URL, error) {
	raw := c.Endpoint
	if raw == "" {
		if !ValidRegion(c.Region) {
			return nil, fmt.Errorf("nifcloud: invalid region %q: must match %s", c.Region, RegionPattern)
		}
		raw = fmt.Sprintf(EndpointTemplate, c.Region)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the raw URL, which may hold userinfo.
		return nil, errors.New("nifcloud: invalid endpoint: not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("nifcloud: invalid endpoint %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("nifcloud: invalid endpoint %q: no host", u.Redacted())
	}
	if u.Path == "" {
		u.Path = "/api/"
	}
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// Validate checks the required fields. Each missing value is named.
func (c Config) Validate() error {
	return c.validate("")
}

func (c Config) validate(file string) error {
	var errs []error
	missing := func(env, key string) {
		if file == "" {
			errs = append(errs, fmt.Errorf("nifcloud: missing %s", env))
			return
		}
		errs = append(errs, fmt.Errorf("nifcloud: missing %s (or %s in [Global] of %s)", env, key, file))
	}
	if c.AccessKeyID == "" {
		missing(EnvAccessKeyID, fileKeyAccessKeyID)
	}
	if c.SecretAccessKey == "" {
		missing(EnvSecretAccessKey, fileKeySecretAccessKey)
	}
	if c.Region == "" {
		missing(EnvRegion, fileKeyRegion)
	} else if !ValidRegion(c.Region) {
		errs = append(errs, fmt.Errorf("nifcloud: invalid region %q: must match %s", sanitize(c.Region, 40), RegionPattern))
	}
	if c.Endpoint != "" {
		if _, err := c.EndpointURL(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Burst < 0 {
		errs = append(errs, fmt.Errorf("nifcloud: invalid burst %d", c.Burst))
	}
	if math.IsNaN(c.QPS) || math.IsInf(c.QPS, 0) {
		errs = append(errs, fmt.Errorf("nifcloud: invalid qps %g", c.QPS))
	}
	return errors.Join(errs...)
}

// ConfigFromEnv reads NIFCLOUD_ACCESS_KEY_ID, NIFCLOUD_SECRET_ACCESS_KEY,
// NIFCLOUD_REGION and the optional NIFCLOUD_ENDPOINT. getenv is usually
// os.Getenv (nil means os.Getenv). The error names every missing variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	return LoadConfig("", getenv)
}

// LoadConfig merges the config file at path (skipped when path is "") with
// the environment and validates the result.
//
// Precedence: a key set explicitly in the file wins; the environment fills
// the keys the file leaves empty. (A file is an explicit, per-deployment
// choice, while environment variables are often inherited.)
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c Config
	if path != "" {
		fc, err := LoadConfigFile(path)
		if err != nil {
			return Config{}, err
		}
		c = fc
	}
	fill := func(dst *string, env string) {
		if *dst == "" {
			*dst = strings.TrimSpace(getenv(env))
		}
	}
	fill(&c.AccessKeyID, EnvAccessKeyID)
	fill(&c.SecretAccessKey, EnvSecretAccessKey)
	fill(&c.Region, EnvRegion)
	fill(&c.Endpoint, EnvEndpoint)
	if err := c.validate(path); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadConfigFile parses an INI file with a [Global] section holding
// access-key-id, secret-access-key, region, endpoint, qps and burst. Lines
// starting with ';' or '#' are comments; values may be quoted. Other
// sections are ignored; unknown keys in [Global] are errors (typos must not
// silently drop a setting). The result is not validated (see LoadConfig).
// Errors name the file and line but never echo a value.
func LoadConfigFile(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("nifcloud: reading config file: %w", err)
	}
	return parseConfigFile(path, data)
}

func parseConfigFile(path string, data []byte) (Config, error) {
	var c Config
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return Config{}, fmt.Errorf("nifcloud: %s:%d: malformed section header", path, n)
			}
			section = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Config{}, fmt.Errorf("nifcloud: %s:%d: expected key = value", path, n)
		}
		if section != "global" {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = unquote(strings.TrimSpace(v))
		switch k {
		case fileKeyAccessKeyID:
			c.AccessKeyID = v
		case fileKeySecretAccessKey:
			c.SecretAccessKey = v
		case fileKeyRegion:
			c.Region = v
		case fileKeyEndpoint:
			c.Endpoint = v
		case fileKeyQPS:
			q, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(q) || math.IsInf(q, 0) {
				return Config{}, fmt.Errorf("nifcloud: %s:%d: qps must be a number", path, n)
			}
			c.QPS = q
		case fileKeyBurst:
			b, err := strconv.Atoi(v)
			if err != nil || b < 0 {
				return Config{}, fmt.Errorf("nifcloud: %s:%d: burst must be a non-negative integer", path, n)
			}
			c.Burst = b
		default:
			return Config{}, fmt.Errorf("nifcloud: %s:%d: unknown key %q in [Global]", path, n, sanitize(k, 40))
		}
	}
	if err := sc.Err(); err != nil {
		return Config{}, fmt.Errorf("nifcloud: reading %s: %w", path, err)
	}
	return c, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}
