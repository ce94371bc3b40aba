package keystoneauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxReviewBytes bounds a review body; real ones are a few KiB.
const maxReviewBytes = 1 << 20

// typeMeta is the head of every review object.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// errBadReview is a malformed review, answered with 400.
type errBadReview struct{ msg string }

func (e errBadReview) Error() string { return e.msg }

func badReview(format string, args ...any) error { return errBadReview{fmt.Sprintf(format, args...)} }

// readReview reads a POSTed JSON review body.
func readReview(r *http.Request) ([]byte, typeMeta, error) {
	var tm typeMeta
	if r.Method != http.MethodPost {
		return nil, tm, badReview("method %s not allowed: POST a review", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, tm, badReview("Content-Type %q: the review must be application/json", ct)
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes+1))
	if err != nil {
		return nil, tm, badReview("reading the review: %v", err)
	}
	if len(data) > maxReviewBytes {
		return nil, tm, badReview("review larger than %d bytes", maxReviewBytes)
	}
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, tm, badReview("review is not a JSON object: %v", err)
	}
	return data, tm, nil
}

// writeJSON answers with a review object.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeBadReview answers 400 (405 for a wrong method) with a Status-like
// JSON body that the API server logs.
func writeBadReview(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadRequest
	if r.Method != http.MethodPost {
		code = http.StatusMethodNotAllowed
		w.Header().Set("Allow", http.MethodPost)
	}
	var br errBadReview
	msg := err.Error()
	if !errors.As(err, &br) {
		code, msg = http.StatusInternalServerError, "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"message": msg, "reason": http.StatusText(code), "code": code})
}
