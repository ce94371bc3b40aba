package keystoneauth

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the webhook's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry         *prometheus.Registry
	tokenReviews     *prometheus.CounterVec
	cacheLookups     *prometheus.CounterVec
	keystoneDuration *prometheus.HistogramVec
	authorizations   *prometheus.CounterVec
	policyReloads    *prometheus.CounterVec
	policyRules      prometheus.Gauge
	badRequests      *prometheus.CounterVec
}

// NewMetrics registers the metrics on a new registry (with the Go and
// process collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		tokenReviews: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kumo_keystone_auth_token_reviews_total",
			Help: "TokenReviews answered, by result (authenticated, rejected, error)."}, []string{"result"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kumo_keystone_auth_token_cache_lookups_total",
			Help: "Token cache lookups, by result (hit, miss)."}, []string{"result"}),
		keystoneDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kumo_keystone_auth_keystone_request_duration_seconds",
			Help:    "Duration of Keystone token validations, by HTTP status (0: no answer).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"code"}),
		authorizations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kumo_keystone_auth_authorizations_total",
			Help: "SubjectAccessReviews answered, by decision (allowed, denied, no_opinion)."}, []string{"decision"}),
		policyReloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kumo_keystone_auth_policy_reloads_total",
			Help: "Policy loads, by result (ok, error); on error the previous policy stays."}, []string{"result"}),
		policyRules: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kumo_keystone_auth_policy_rules",
			Help: "Rules in the policy in force."}),
		badRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kumo_keystone_auth_bad_requests_total",
			Help: "Malformed review requests refused with HTTP 4xx, by endpoint."}, []string{"endpoint"}),
	}
	m.Registry.MustRegister(m.tokenReviews, m.cacheLookups, m.keystoneDuration, m.authorizations,
		m.policyReloads, m.policyRules, m.badRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeKeystone(d time.Duration, code int) {
	if m != nil {
		m.keystoneDuration.WithLabelValues(strconv.Itoa(code)).Observe(d.Seconds())
	}
}

func (m *Metrics) review(result string) {
	if m != nil {
		m.tokenReviews.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) cache(hit bool) {
	if m != nil {
		m.cacheLookups.WithLabelValues(map[bool]string{true: "hit", false: "miss"}[hit]).Inc()
	}
}

func (m *Metrics) decision(d string) {
	if m != nil {
		m.authorizations.WithLabelValues(d).Inc()
	}
}

func (m *Metrics) reload(ok bool, rules int) {
	if m == nil {
		return
	}
	if !ok {
		m.policyReloads.WithLabelValues("error").Inc()
		return
	}
	m.policyReloads.WithLabelValues("ok").Inc()
	m.policyRules.Set(float64(rules))
}

func (m *Metrics) badRequest(endpoint string) {
	if m != nil {
		m.badRequests.WithLabelValues(endpoint).Inc()
	}
}
