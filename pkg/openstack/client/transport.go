package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
)

// CloudLabel is the "cloud" label value of the OpenStack API metrics.
const CloudLabel = "openstack"

// Transport is an http.RoundTripper for OpenStack API calls. It adds, in
// order: a client-side rate limit (waiting with the request context),
// a per-attempt timeout, retries with jittered exponential backoff for 429
// and 503 answers (honouring Retry-After, seconds or HTTP date) and for
// connection errors of idempotent methods, Prometheus metrics per attempt,
// an error body in a 2xx answer turned into a 502 (see flagErrorBody),
// and structured klog lines. It never logs headers or bodies, so tokens
// and passwords cannot leak through it.
type Transport struct {
	// Base performs the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Limiter spaces requests; nil means unlimited.
	Limiter *rate.Limiter
	// Metrics may be nil.
	Metrics *cloudmetrics.Recorder
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// Backoff computes the delay before retry n when the server gives no
	// Retry-After.
	Backoff backoff.Policy
	// AttemptTimeout bounds each attempt (headers and body); 0 = none.
	AttemptTimeout time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one is
	// returned to the caller instead of sleeping. 0 means 60s.
	MaxRetryAfter time.Duration
	// MaxBodyBytes caps each response body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Secrets are redacted from error bodies (password, app credential
	// secret, token); the exchange's own tokens are always redacted.
	Secrets []string
}

// DefaultBackoff is the retry backoff used when the server sends no
// Retry-After.
var DefaultBackoff = backoff.Policy{Initial: 500 * time.Millisecond, Factor: 2, Max: 30 * time.Second, Jitter: 0.2}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	logger := klog.FromContext(ctx)
	name := RequestName(req.Method, req.URL.Path, peekAction(req))
	path := req.URL.Path
	canRewind := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if err := checkPath(req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	maxRetryAfter := t.MaxRetryAfter
	if maxRetryAfter <= 0 {
		maxRetryAfter = 60 * time.Second
	}

	for attempt := 1; ; attempt++ {
		if t.Limiter != nil {
			if err := t.Limiter.Wait(ctx); err != nil {
				closeBody(req)
				return nil, err
			}
		}
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		cancel := context.CancelFunc(func() {})
		if t.AttemptTimeout > 0 {
			var actx context.Context
			actx, cancel = context.WithTimeout(ctx, t.AttemptTimeout)
			r = r.WithContext(actx)
		}

		start := time.Now()
		resp, err := t.base().RoundTrip(r)
		if err == nil {
			flagErrorBody(resp)
		}
		dur := time.Since(start)

		status := 0
		code := ""
		switch {
		case err != nil:
			code = errorCode(ctx, err)
		case resp.StatusCode >= 400:
			status = resp.StatusCode
			code = strconv.Itoa(resp.StatusCode)
		default:
			status = resp.StatusCode
		}
		t.Metrics.Observe(CloudLabel, name, dur, code)
		if status == http.StatusTooManyRequests {
			t.Metrics.Throttled(CloudLabel, name)
		}
		kv := []any{"method", req.Method, "request", name, "path", path, "status", status, "attempt", attempt, "duration", dur}
		if err != nil {
			logger.V(4).Info("OpenStack API request failed", append(kv, "err", sanitizeErr(err))...)
		} else {
			logger.V(4).Info("OpenStack API request", kv...)
		}

		// Decide whether to retry.
		var delay time.Duration
		retry := false
		reason := ""
		switch {
		case ctx.Err() != nil || attempt > t.MaxRetries || !canRewind:
		case err != nil:
			if idempotent(req.Method) {
				retry, reason = true, "connection error"
				delay = t.Backoff.Delay(attempt)
			}
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			reason = strconv.Itoa(status)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				if ra <= maxRetryAfter {
					retry, delay = true, ra
				}
			} else {
				retry, delay = true, t.Backoff.Delay(attempt)
			}
		case status >= 500 && idempotent(req.Method):
			// A server error on a read (or an idempotent write) is safe to
			// repeat; without this one failed GET among the dozens of a
			// load balancer sync fails the whole sync, and the service
			// controller's backoff then grows to minutes.
			retry, reason, delay = true, strconv.Itoa(status), t.Backoff.Delay(attempt)
		}
		if !retry {
			if resp != nil {
				limit := t.MaxBodyBytes
				if limit <= 0 {
					limit = DefaultMaxBodyBytes
				}
				resp.Body = &limitedBody{rc: resp.Body, left: limit, limit: limit}
				if resp.StatusCode >= 400 {
					t.scrubErrorBody(req, resp)
				}
			}
			if resp != nil && t.AttemptTimeout > 0 {
				resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			} else {
				cancel()
			}
			if err != nil && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return resp, err
		}
		if resp != nil {
			// Drain so the connection can be reused; the response is dropped
			// for a retry, so a close error changes nothing.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		cancel()
		t.Metrics.Retried(CloudLabel, name)
		logger.V(2).Info("Retrying OpenStack API request", "method", req.Method, "request", name, "reason", reason, "attempt", attempt, "delay", delay)
		if err := backoff.Sleep(ctx, delay); err != nil {
			closeBody(req)
			return nil, err
		}
	}
}

// closeBody releases a request body the transport will not send again. As a
// RoundTripper it must close it; a close error on an in-memory body is moot.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

func errorCode(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "connection_error"
}

// sanitizeErr drops the URL (which might carry userinfo or query values)
// from transport errors.
func sanitizeErr(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.Contains(err.Error(), "://") {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
