package nifcloud

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

const (
	// CloudName is the "cloud" label of the metrics.
	CloudName = "nifcloud"
	// maxRetryAfter caps a server's Retry-After hint.
	maxRetryAfter    = 5 * time.Minute
	defaultUserAgent = "kumo-nifcloud"
)

// Client is a NIFCLOUD computing API client. It is safe for concurrent use.
type Client struct {
	cfg        Config
	endpoint   *url.URL
	httpClient *http.Client
	limiter    *rate.Limiter // nil: unlimited
}

var _ API = (*Client)(nil)

// New validates cfg, applies defaults and returns a client.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ep, err := cfg.EndpointURL()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.TotalTimeout == 0 {
		cfg.TotalTimeout = DefaultTotalTimeout
	}
	if cfg.QPS == 0 {
		cfg.QPS = DefaultQPS
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Retry == (backoff.Policy{}) {
		cfg.Retry = DefaultRetry()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = defaultUserAgent
	}
	if cfg.InsecureSkipVerify {
		klog.Background().Info("WARNING: TLS certificate verification of the NIFCLOUD API is disabled; credentials can be intercepted", "endpoint", ep.String())
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = cfg.Timeout
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in for test endpoints
		// Redirects are never followed: a signed POST must not go elsewhere.
		hc = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	c := &Client{cfg: cfg, endpoint: ep, httpClient: hc}
	if cfg.QPS > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.QPS), cfg.Burst)
	}
	return c, nil
}

// Config returns the effective configuration (defaults applied). Print it
// freely: its String and LogValue redact the secret.
func (c *Client) Config() Config { return c.cfg }

// Endpoint returns the endpoint URL requests are posted to.
func (c *Client) Endpoint() string { return c.endpoint.String() }

// requestIDer is implemented by every output type.
type requestIDer interface{ ResponseRequestID() string }

// EC2Response is embedded in the outputs of EC2-style actions.
type EC2Response struct {
	// RequestID is <requestId>.
	RequestID string `xml:"requestId"`
}

// ResponseRequestID returns the request id.
func (r EC2Response) ResponseRequestID() string { return r.RequestID }

// ELBResponse is embedded in the outputs of ELB-style (load balancer) actions.
type ELBResponse struct {
	// RequestID is <ResponseMetadata><RequestId>.
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// ResponseRequestID returns the request id.
func (r ELBResponse) ResponseRequestID() string { return r.RequestID }

// call sends f, retrying retryable failures, and decodes the response into
// out. Each attempt waits for the rate limiter, is signed afresh (new
// Timestamp) and is bounded by Config.Timeout.
func (c *Client) call(ctx context.Context, f *Form, out any) error {
	action := f.Action()
	logger := klog.FromContext(ctx).WithValues("cloud", CloudName, "action", action)
	if v := logger.V(5); v.Enabled() {
		v.Info("NIFCLOUD API request", "params", loggableParams(f.Values()))
	}
	if c.cfg.TotalTimeout > 0 {
		// Bounds all attempts and backoffs of one call, whatever ctx allows.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.TotalTimeout)
		defer cancel()
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return c.canceled(ctx, action, err, lastErr)
			}
		}
		start := time.Now()
		status, header, body, err := c.send(ctx, action, f)
		if err == nil {
			err = decodeResponse(action, status, body, out)
		}
		dur := time.Since(start)

		requestID, code := "", ""
		var apiErr *APIError
		switch {
		case err == nil:
			if r, ok := out.(requestIDer); ok {
				requestID = r.ResponseRequestID()
			}
		case errors.As(err, &apiErr):
			apiErr.RetryAfter = parseRetryAfter(header.Get("Retry-After"), time.Now())
			requestID, code = apiErr.RequestID, apiErr.MetricCode()
		default:
			var te *transportError
			if errors.As(err, &te) {
				code = te.metricCode()
			} else {
				code = "decode_error"
			}
		}
		if ctx.Err() != nil && err != nil {
			code = "canceled"
		}
		c.cfg.Metrics.Observe(CloudName, action, dur, code)
		logger.V(4).Info("NIFCLOUD API call", "attempt", attempt, "requestID", requestID,
			"duration", dur, "status", status, "code", code)
		if err == nil {
			return nil
		}
		if apiErr != nil && apiErr.Throttling() {
			c.cfg.Metrics.Throttled(CloudName, action)
		}
		if ctx.Err() != nil {
			return c.canceled(ctx, action, ctx.Err(), err)
		}
		if !IsRetryable(err) || attempt >= c.cfg.MaxAttempts {
			if attempt > 1 {
				return &retriesExhaustedError{attempts: attempt, err: err}
			}
			return err
		}
		delay := c.cfg.Retry.Delay(attempt)
		if apiErr != nil && apiErr.RetryAfter > delay {
			delay = apiErr.RetryAfter
		}
		c.cfg.Metrics.Retried(CloudName, action)
		logger.V(4).Info("Retrying NIFCLOUD API call", "attempt", attempt, "delay", delay, "code", code)
		lastErr = err
		if serr := backoff.Sleep(ctx, delay); serr != nil {
			return c.canceled(ctx, action, serr, lastErr)
		}
	}
}

// send performs one signed attempt.
func (c *Client) send(ctx context.Context, action string, f *Form) (int, http.Header, []byte, error) {
	vals := make(url.Values, len(f.Values())+5)
	for k, v := range f.Values() {
		vals[k] = append([]string(nil), v...)
	}
	signer.Sign(vals, c.cfg.AccessKeyID, c.cfg.SecretAccessKey, c.endpoint.Host, c.endpoint.Path, time.Now())

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint.String(), strings.NewReader(vals.Encode()))
	if err != nil {
		return 0, nil, nil, &transportError{action: action, err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, &transportError{action: action, err: stripURL(err)}
	}
	defer func() { _ = resp.Body.Close() }() // read-only body; read errors are reported below
	body, err := readCapped(resp.Body, maxBodyBytes)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, &transportError{action: action, err: stripURL(err)}
	}
	return resp.StatusCode, resp.Header, redactBody(body, vals, c.cfg.SecretAccessKey), nil
}

// canceled builds the error returned when the caller's context ends; it
// wraps both the context error and the last attempt's error.
func (c *Client) canceled(ctx context.Context, action string, ctxErr, last error) error {
	if ctx.Err() != nil {
		ctxErr = ctx.Err()
	}
	if last == nil {
		return fmt.Errorf("nifcloud: %s: %w", action, ctxErr)
	}
	return fmt.Errorf("nifcloud: %s: %w (last attempt: %w)", action, ctxErr, last)
}

// retriesExhaustedError reports the final error after retries.
type retriesExhaustedError struct {
	attempts int
	err      error
}

func (e *retriesExhaustedError) Error() string {
	return e.err.Error() + " (after " + strconv.Itoa(e.attempts) + " attempts)"
}

func (e *retriesExhaustedError) Unwrap() error { return e.err }

// stripURL removes the *url.Error wrapper (whose text repeats the method and
// endpoint) while keeping the cause.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter parses a Retry-After header: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	if d > maxRetryAfter {
		return maxRetryAfter
	}
	return d
}

// sensitiveParams never appear in logs.
func isSensitiveParam(k string) bool {
	switch k {
	case signer.KeyAccessKeyID, signer.KeySignature, "SecretAccessKey", "SecretKey", "Password":
		return true
	}
	return false
}

// loggableParams renders the request parameters for debug logs, with the
// credentials and signature removed.
func loggableParams(vals url.Values) string {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		if !isSensitiveParam(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(vals.Get(k))
	}
	return b.String()
}
