package simcore

import (
	"encoding/json"
	"net/http"
)

// AdminHandler serves the control API of one simulated cloud under the
// prefix it is mounted at (e.g. "/_sim/nifcloud/"):
//
//	GET  counters        per-action call counters and injected faults
//	POST counters/reset  zero the counters
//	GET/PUT faults       FaultConfig as JSON
//	GET/PUT latency      LatencyConfig as JSON
//	GET/PUT hostile      HostileConfig as JSON (see HostileMiddleware)
func AdminHandler(prefix string, c *Controls) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"counters", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"calls": c.Counts(), "faults": c.FaultsInjected()})
	})
	mux.HandleFunc("POST "+prefix+"counters/reset", func(w http.ResponseWriter, r *http.Request) {
		c.ResetCounts()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+prefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, c.Faults())
	})
	mux.HandleFunc("PUT "+prefix+"faults", func(w http.ResponseWriter, r *http.Request) {
		var f FaultConfig
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, "bad fault config: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.SetFaults(f)
		WriteJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("GET "+prefix+"latency", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, c.Latency())
	})
	mux.HandleFunc("PUT "+prefix+"latency", func(w http.ResponseWriter, r *http.Request) {
		var l LatencyConfig
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			http.Error(w, "bad latency config: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.SetLatency(l)
		WriteJSON(w, http.StatusOK, l)
	})
	mux.HandleFunc("GET "+prefix+"hostile", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, c.Hostile())
	})
	mux.HandleFunc("PUT "+prefix+"hostile", func(w http.ResponseWriter, r *http.Request) {
		var h HostileConfig
		if err := json.NewDecoder(r.Body).Decode(&h); err != nil {
			http.Error(w, "bad hostile config: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.SetHostile(h)
		WriteJSON(w, http.StatusOK, h)
	})
	return mux
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
