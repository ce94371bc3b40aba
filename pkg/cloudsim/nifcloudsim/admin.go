package nifcloudsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// Seed is the seed-file format: {"instances":[{"instanceId":…}, …],
// "privateLans":[{"networkId":"net-…"}, …], "localInstances":["…"]}.
type Seed struct {
	Instances      []Instance   `json:"instances"`
	PrivateLans    []PrivateLan `json:"privateLans,omitempty"`
	LocalInstances []string     `json:"localInstances,omitempty"`
}

// ApplySeed adds the seed's instances and private LANs; those that already
// exist are left alone, so seeding is idempotent. LocalInstances, when
// given, are added to the local set.
func (s *Sim) ApplySeed(seed Seed) error {
	err := s.mutate(func(now time.Time) error {
		for _, in := range seed.Instances {
			if _, ok := s.st.Instances[in.InstanceID]; ok {
				continue
			}
			if err := s.addInstanceLocked(in, now); err != nil {
				return fmt.Errorf("seed instance %q: %w", in.InstanceID, err)
			}
		}
		for _, l := range seed.PrivateLans {
			if _, ok := s.st.PrivateLans[l.NetworkID]; ok {
				continue
			}
			if _, err := s.addPrivateLanLocked(l); err != nil {
				return fmt.Errorf("seed private LAN %q: %w", l.NetworkID, err)
			}
		}
		return nil
	})
	if err != nil || len(seed.LocalInstances) == 0 {
		return err
	}
	s.mu.Lock()
	ids := append(sortedKeys(s.local), seed.LocalInstances...)
	s.mu.Unlock()
	s.SetLocalInstances(ids...)
	return nil
}

// LoadSeed reads a seed file (see Seed) and applies it.
func (s *Sim) LoadSeed(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read seed: %w", err)
	}
	var seed Seed
	if err := json.Unmarshal(data, &seed); err != nil {
		return fmt.Errorf("decode seed %s: %w", path, err)
	}
	return s.ApplySeed(seed)
}

// LocalInstances lists the instances that stand for this machine.
func (s *Sim) LocalInstances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.local)
}

// adminHandler serves, under AdminPrefix:
//
//	GET    counters, POST counters/reset, GET/PUT faults, GET/PUT latency (simcore)
//	POST   instances                 seed one Instance (JSON) → 201 + the instance
//	DELETE instances/{id}            → 204
//	PUT    instances/{id}/state      {"state":"stopped"} → 200
//	POST   private-lans              seed one PrivateLan (JSON) → 201 + the LAN
//	DELETE private-lans/{id}         → 204
//	GET    state                     Snapshot()
//	POST   seed                      Seed JSON → 204
//	GET    local-instances           → {"instanceIds":[…]}
//	POST   local-instances           {"instanceIds":[…]} (or a bare array) replaces the set → 200
//
// Errors are JSON {"error":"…"}: 400 bad input, 404 unknown instance or
// LAN, 409 duplicate.
func (s *Sim) adminHandler() http.Handler {
	mux := http.NewServeMux()
	p := AdminPrefix
	mux.HandleFunc("POST "+p+"instances", func(w http.ResponseWriter, r *http.Request) {
		var in Instance
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		if err := s.AddInstance(in); err != nil {
			status := http.StatusBadRequest
			if in.InstanceID != "" && s.hasInstance(in.InstanceID) {
				status = http.StatusConflict
			}
			adminErr(w, status, err)
			return
		}
		snap := s.Snapshot()
		simcore.WriteJSON(w, http.StatusCreated, snap.Instances[in.InstanceID])
	})
	mux.HandleFunc("DELETE "+p+"instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeleteInstance(r.PathValue("id")); err != nil {
			adminErr(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT "+p+"instances/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		id := r.PathValue("id")
		if !s.hasInstance(id) {
			adminErr(w, http.StatusNotFound, fmt.Errorf("instance %q not found", id))
			return
		}
		if err := s.SetInstanceState(id, body.State); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		simcore.WriteJSON(w, http.StatusOK, map[string]string{"instanceId": id, "state": body.State})
	})
	mux.HandleFunc("POST "+p+"private-lans", func(w http.ResponseWriter, r *http.Request) {
		var l PrivateLan
		if err := json.NewDecoder(r.Body).Decode(&l); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		added, err := s.AddPrivateLan(l)
		if err != nil {
			status := http.StatusBadRequest
			var dup errDuplicateLan
			if errors.As(err, &dup) {
				status = http.StatusConflict
			}
			adminErr(w, status, err)
			return
		}
		simcore.WriteJSON(w, http.StatusCreated, added)
	})
	mux.HandleFunc("DELETE "+p+"private-lans/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.DeletePrivateLan(r.PathValue("id")); err != nil {
			adminErr(w, http.StatusNotFound, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"state", func(w http.ResponseWriter, r *http.Request) {
		simcore.WriteJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("POST "+p+"seed", func(w http.ResponseWriter, r *http.Request) {
		var seed Seed
		if err := json.NewDecoder(r.Body).Decode(&seed); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		if err := s.ApplySeed(seed); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"local-instances", func(w http.ResponseWriter, r *http.Request) {
		simcore.WriteJSON(w, http.StatusOK, map[string][]string{"instanceIds": s.LocalInstances()})
	})
	mux.HandleFunc("POST "+p+"local-instances", func(w http.ResponseWriter, r *http.Request) {
		var raw json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			adminErr(w, http.StatusBadRequest, err)
			return
		}
		var body struct {
			InstanceIDs []string `json:"instanceIds"`
		}
		if err := json.Unmarshal(raw, &body.InstanceIDs); err != nil {
			if err := json.Unmarshal(raw, &body); err != nil {
				adminErr(w, http.StatusBadRequest, err)
				return
			}
		}
		s.SetLocalInstances(body.InstanceIDs...)
		simcore.WriteJSON(w, http.StatusOK, map[string][]string{"instanceIds": s.LocalInstances()})
	})
	mux.Handle(p, simcore.AdminHandler(p, s.controls))
	return mux
}

func (s *Sim) hasInstance(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.st.Instances[id]
	return ok
}

func adminErr(w http.ResponseWriter, status int, err error) {
	simcore.WriteJSON(w, status, map[string]string{"error": err.Error()})
}
