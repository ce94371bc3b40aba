// Package openstacksim is a wire-faithful OpenStack simulator: Keystone v3,
// Nova, Cinder v3, Octavia v2, Neutron v2.0 and the metadata service on one
// listener, close enough to the real APIs that an unmodified gophercloud v2
// client (and so cloud-provider-openstack and cinder-csi-plugin) works
// against it. State changes that take time in a real cloud (volume attach,
// load balancer provisioning, …) are computed lazily from stored
// timestamps, so no goroutines run and a restart from the persisted state
// continues where it stopped.
package openstacksim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// AdminPrefix is where the simulator's control API is mounted.
const AdminPrefix = "/_sim/openstack/"

// User is a Keystone user with one project it may scope to.
type User struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Password    string `json:"password"`
	DomainID    string `json:"domain_id"`
	DomainName  string `json:"domain_name"`
	ProjectID   string `json:"project_id"`
	ProjectName string `json:"project_name"`
	// Roles on the default project; nil means admin and member.
	Roles []string `json:"roles,omitempty"`
}

// AppCredential is a Keystone application credential of a user.
type AppCredential struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Secret    string `json:"secret"`
	UserID    string `json:"user_id"`
	ProjectID string `json:"project_id"`
}

// Options configures a simulator.
type Options struct {
	Region         string          // default "RegionOne"
	Users          []User          // default one user admin/secret, domain Default, project demo
	AppCredentials []AppCredential // application credentials
	TokenTTL       time.Duration   // default 1h; expired tokens are answered with 401
	StatePath      string          // "" = memory only; else JSON persisted after every mutation
	Controls       *simcore.Controls
	LocalDisks     localdisk.Manager // nil = no real devices
	LocalServers   []string          // server IDs that stand for this machine
	// LocalDiskPerServer puts each server's device links under
	// <root>/<serverId>/ (one device view per e2e node).
	LocalDiskPerServer bool
	VolumeQuotaGB      int // 0 = unlimited; volumes+snapshots beyond it → 413
	// OctaviaVersion is the newest Octavia API version announced, "v2.N"
	// ("" = v2.27); request attributes of later versions answer 400
	// (octavia_version.go).
	OctaviaVersion string
	// NoBackupService simulates a cloud without cinder-backup: creating a
	// backup answers 503 "Service cinder-backup could not be found."
	NoBackupService bool
	Now             func() time.Time
	// RoleAssignments give users roles on further projects (keystone_roles.go).
	RoleAssignments []RoleAssignment
}

// Sim is one simulated OpenStack cloud.
type Sim struct {
	opts     Options
	controls *simcore.Controls
	store    *simcore.Store
	now      func() time.Time
	users    []User
	appCreds []AppCredential
	handler  http.Handler

	mu    sync.Mutex
	state *State
	local map[string]bool
	// backupFailure, when set, fails new backups (SetBackupFailure).
	backupFailure string
}

// New builds a simulator, loading the persisted state when StatePath holds
// one and seeding the default flavor, networks and router otherwise.
func New(opts Options) (*Sim, error) {
	if opts.Region == "" {
		opts.Region = "RegionOne"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if _, err := parseOctaviaVersion(opts.OctaviaVersion); err != nil {
		return nil, err
	}
	s := &Sim{
		opts:     opts,
		controls: opts.Controls,
		store:    simcore.NewStore(opts.StatePath),
		now:      func() time.Time { return opts.Now().UTC() },
		local:    map[string]bool{},
	}
	if s.controls == nil {
		s.controls = simcore.NewControls()
	}
	if err := s.initIdentity(); err != nil {
		return nil, err
	}
	st := newState()
	loaded, err := s.store.Load(st)
	if err != nil {
		return nil, err
	}
	st.normalize()
	s.state = st
	if !loaded {
		if err := s.seedDefaults(); err != nil {
			return nil, err
		}
	}
	// Cinder always has volume types; a state file from before they were
	// simulated gets the defaults too.
	if len(s.state.VolumeTypes) == 0 {
		s.seedVolumeTypesLocked()
	}
	if opts.LocalServers != nil {
		s.state.LocalServers = append([]string(nil), opts.LocalServers...)
	}
	for _, id := range s.state.LocalServers {
		s.local[id] = true
	}
	s.mu.Lock()
	s.settleLocked()
	s.syncLocalDisksLocked()
	s.persistLocked()
	s.mu.Unlock()
	s.handler = s.routes()
	return s, nil
}

// Handler serves every API of the simulated cloud on one listener.
func (s *Sim) Handler() http.Handler { return s.handler }

// Controls returns the counters, latency and fault settings.
func (s *Sim) Controls() *simcore.Controls { return s.controls }

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	s.keystoneRoutes(mux)
	s.novaRoutes(mux)
	s.cinderRoutes(mux)
	s.cinderSnapshotRoutes(mux)
	s.cinderBackupRoutes(mux)
	s.cinderTypeRoutes(mux)
	s.cinderLimitRoutes(mux)
	s.octaviaRoutes(mux)
	s.barbicanRoutes(mux)
	s.octaviaChildRoutes(mux)
	s.octaviaMemberRoutes(mux)
	s.neutronRoutes(mux)
	s.neutronL3Routes(mux)
	s.neutronSGRoutes(mux)
	s.metadataRoutes(mux)
	s.adminRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/volume/") {
			cinderNoRoute(w)
			return
		}
		simcore.WriteJSON(w, http.StatusNotFound, map[string]any{
			"error": map[string]any{"code": 404, "title": "Not Found",
				"message": fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)},
		})
	})
	return mux
}

// handlerFunc is the signature of an API handler behind authentication and
// fault injection; tok is nil for unauthenticated routes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, tok *Token)

// handle registers pattern with token validation (when auth) and
// Controls.Begin(action) fault injection (an empty action leaves Begin to
// the handler, which picks the action name from the body).
func (s *Sim) handle(mux *http.ServeMux, pattern string, sv service, action string, auth bool, fn handlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.versionHeaders(w, r, sv)
		var tok *Token
		if auth {
			tok = s.authenticate(r)
			if tok == nil {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", baseURL(r)+"/identity/v3"))
				s.fail(w, sv, http.StatusUnauthorized, "The request you have made requires authentication.")
				return
			}
			// Cinder checks the project in the URL against the token's.
			if p := r.PathValue("project"); sv == svcCinder && p != "" && p != tok.ProjectID {
				s.fail(w, sv, http.StatusBadRequest, "Malformed request url: project_id '"+p+"' does not match the token's project_id '"+tok.ProjectID+"'")
				return
			}
		}
		if action != "" && !s.begin(w, r, sv, action) {
			return
		}
		fn(w, r, tok)
	})
}

func (s *Sim) versionHeaders(w http.ResponseWriter, r *http.Request, sv service) {
	switch sv {
	case svcNova:
		v := requestedMicroversion(r, "compute", "X-OpenStack-Nova-API-Version")
		if v == "" || v == "latest" {
			v = map[bool]string{true: novaMaxVersion, false: "2.1"}[v == "latest"]
		}
		w.Header().Set("X-OpenStack-Nova-API-Version", v)
		w.Header().Set("OpenStack-API-Version", "compute "+v)
		w.Header().Add("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
	case svcCinder:
		maj, min := cinderMicroversion(r)
		v := fmt.Sprintf("%d.%d", maj, min)
		w.Header().Set("OpenStack-API-Version", "volume "+v)
		w.Header().Set("X-OpenStack-Volume-API-Version", v)
		w.Header().Add("Vary", "OpenStack-API-Version")
	}
}

// mutate runs fn under the state lock after applying due transitions, and
// persists the state afterwards.
func (s *Sim) mutate(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	fn()
	s.persistLocked()
}

// read runs fn under the state lock after applying due transitions.
func (s *Sim) read(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.settleLocked() {
		s.persistLocked()
	}
	fn()
}

func (s *Sim) persistLocked() {
	// A failed save keeps the in-memory state authoritative; the next
	// mutation tries again.
	_ = s.store.Save(s.state)
}
