package keystoneauth

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// Server routes the webhook's endpoints:
//
//	POST /webhook       TokenReview or SubjectAccessReview (by kind), as k8s-keystone-auth
//	POST /authenticate  TokenReview only
//	POST /authorize     SubjectAccessReview only
//	GET  /healthz       the process serves
//	GET  /readyz        a policy is in force (when an authorizer is set)
//	GET  /metrics       Prometheus
type Server struct {
	Authenticator *Authenticator // nil: TokenReviews are refused
	Authorizer    *Authorizer    // nil: SubjectAccessReviews are refused
	Metrics       *Metrics
	Logger        klog.Logger
}

type reviewFunc func(ctx context.Context, data []byte, tm typeMeta) (any, error)

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	kinds := map[string]reviewFunc{}
	if s.Authenticator != nil {
		kinds["TokenReview"] = s.Authenticator.serve
	}
	if s.Authorizer != nil {
		kinds["SubjectAccessReview"] = s.Authorizer.serve
	}
	only := func(kind string) map[string]reviewFunc {
		if f, ok := kinds[kind]; ok {
			return map[string]reviewFunc{kind: f}
		}
		return nil
	}
	mux.Handle("/webhook", s.review("webhook", kinds))
	mux.Handle("/authenticate", s.review("authenticate", only("TokenReview")))
	mux.Handle("/authorize", s.review("authorize", only("SubjectAccessReview")))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.Authorizer != nil && !s.Authorizer.HasPolicy() {
			http.Error(w, "no keystone policy loaded yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	if s.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

func (s *Server) review(endpoint string, kinds map[string]reviewFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger := s.Logger.WithValues("endpoint", endpoint, "remote", r.RemoteAddr)
		ctx := klog.NewContext(r.Context(), logger)
		r = r.WithContext(ctx)
		data, tm, err := readReview(r)
		var out any
		if err == nil {
			f, ok := kinds[tm.Kind]
			if !ok {
				err = badReview("kind %q is not served at /%s (want one of %v)", tm.Kind, endpoint, keys(kinds))
			} else {
				out, err = f(ctx, data, tm)
			}
		}
		if err != nil {
			s.Metrics.badRequest(endpoint)
			logger.Info("Malformed review refused", "kind", tm.Kind, "apiVersion", tm.APIVersion, "err", err.Error())
			writeBadReview(w, r, err)
			return
		}
		writeJSON(w, out)
	})
}

func keys(m map[string]reviewFunc) []string {
	var out []string
	for _, k := range []string{"TokenReview", "SubjectAccessReview"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	return out
}
