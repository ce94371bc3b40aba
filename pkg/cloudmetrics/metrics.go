// Package cloudmetrics records Prometheus metrics for every cloud API call
// made by kumo's clients. A Recorder is created per process and registered
// on the registry the binary serves (component-base's legacy registry in the
// CCM, the CSI driver's own registry on --http-endpoint).
package cloudmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder holds the cloud API metric vectors. A nil *Recorder records
// nothing, so clients built without metrics need no special casing.
type Recorder struct {
	duration  *prometheus.HistogramVec
	requests  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	throttles *prometheus.CounterVec
	retries   *prometheus.CounterVec
}

// New builds a recorder; call Register (or Collectors) to expose it.
func New() *Recorder {
	labels := []string{"cloud", "request"}
	return &Recorder{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kumo_cloud_api_request_duration_seconds",
			Help:    "Latency of cloud API requests, by cloud and request (action or resource_operation).",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, labels),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_cloud_api_requests_total",
			Help: "Cloud API requests sent, including retries.",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_cloud_api_request_errors_total",
			Help: "Cloud API requests that failed, by error code (cloud error code or HTTP status).",
		}, append(labels, "code")),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_cloud_api_throttles_total",
			Help: "Cloud API requests answered with a throttling error.",
		}, labels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_cloud_api_retries_total",
			Help: "Cloud API requests retried after a retryable failure.",
		}, labels),
	}
}

// Collectors returns the metric vectors for registration.
func (r *Recorder) Collectors() []prometheus.Collector {
	if r == nil {
		return nil
	}
	return []prometheus.Collector{r.duration, r.requests, r.errors, r.throttles, r.retries}
}

// Register registers the vectors on reg.
func (r *Recorder) Register(reg prometheus.Registerer) error {
	for _, c := range r.Collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Observe records one finished request attempt. code is "" on success.
func (r *Recorder) Observe(cloud, request string, d time.Duration, code string) {
	if r == nil {
		return
	}
	r.requests.WithLabelValues(cloud, request).Inc()
	r.duration.WithLabelValues(cloud, request).Observe(d.Seconds())
	if code != "" {
		r.errors.WithLabelValues(cloud, request, code).Inc()
	}
}

// Throttled records a throttling answer.
func (r *Recorder) Throttled(cloud, request string) {
	if r == nil {
		return
	}
	r.throttles.WithLabelValues(cloud, request).Inc()
}

// Retried records a retry.
func (r *Recorder) Retried(cloud, request string) {
	if r == nil {
		return
	}
	r.retries.WithLabelValues(cloud, request).Inc()
}
