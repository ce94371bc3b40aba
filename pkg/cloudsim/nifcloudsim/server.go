// Package nifcloudsim simulates the NIFCLOUD computing API (instances,
// additional-storage volumes, L4 and elastic load balancers, security
// groups, private LANs (seeded, read-only)) faithfully enough for the kumo CCM and CSI driver to run against
// it. Request keys and response elements follow NIFCLOUD's computing model
// (shared/specs/nifcloud-computing.smithy: <Action>Request input shapes,
// <Action>Result[Wrapper] output shapes); tests/conformance checks that.
//
// Wire behaviour:
//   - POST (or GET) /api/ with form Action, Version=3.0 and a signature
//     version 2 (HmacSHA256/HmacSHA1) computed over host r.Host, path /api/.
//   - Success: <{Action}Response xmlns="https://computing.api.nifcloud.com/api/">,
//     EC2 style (<requestId>, <item> lists) for instances, volumes and
//     security groups; ELB style (<{Action}Result>, <member> lists,
//     <ResponseMetadata><RequestId>) for load balancers.
//   - Errors: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>,
//     HTTP 400 for Client.* (401 unknown access key, 403 bad signature),
//     500 for Server.*, 503 for Server.RequestLimitExceeded (throttle, with
//     Retry-After in seconds) and Server.ServiceUnavailable (timeout fault).
//
// Transitions (names passed to simcore.Controls.TransitionDelay):
// "volume.create", "volume.attach", "volume.detach", "volume.extend",
// "elb.apply", "sg.apply". They complete lazily from stored ReadyAt
// timestamps the next time the state is touched.
//
// UpdateLoadBalancer form keys (L4, model UpdateLoadBalancerRequest):
// LoadBalancerName, ListenerUpdate.LoadBalancerPort and
// ListenerUpdate.InstancePort (the listener to change),
// ListenerUpdate.Listener.{Protocol,LoadBalancerPort,InstancePort,
// BalancingType}, NetworkVolumeUpdate, AccountingTypeUpdate,
// LoadBalancerNameUpdate. NiftyUpdateElasticLoadBalancer
// (NiftyUpdateElasticLoadBalancerRequest) has only the name/id,
// NetworkVolumeUpdate, AccountingTypeUpdate and
// ElasticLoadBalancerNameUpdate; elastic LB listeners change through
// NiftyModifyElasticLoadBalancerAttributes. Keys outside an action's input
// shape answer CodeUnknownParameter (allowlist.go).
package nifcloudsim

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
	"github.com/kumo-project/kumo/pkg/nifcloud/signer"
)

// AdminPrefix is where the admin JSON API is mounted.
const AdminPrefix = "/_sim/nifcloud/"

// APIPath is the computing API path.
const APIPath = "/api/"

// Options configures a simulator.
type Options struct {
	Credentials    map[string]string // access key -> secret
	Region         string            // e.g. "jp-east-1"
	StatePath      string            // "" = memory only
	Controls       *simcore.Controls // nil -> simcore.NewControls()
	LocalDisks     localdisk.Manager // nil -> no real devices
	LocalInstances []string          // instanceIds that stand for this machine
	// LocalDiskPerInstance puts each instance's device links under
	// <root>/<instanceId>/, so that several local instances (one per
	// e2e node) each see only their own SCSI slots.
	LocalDiskPerInstance bool
	Now                  func() time.Time // nil -> time.Now
}

// Sim is a NIFCLOUD computing API simulator.
type Sim struct {
	creds    map[string]string
	region   string
	controls *simcore.Controls
	disks    localdisk.Manager
	// disksPerInstance: Options.LocalDiskPerInstance.
	disksPerInstance bool
	now              func() time.Time
	store            *simcore.Store
	actions          map[string]action

	mu    sync.Mutex
	st    *State
	local map[string]bool
	devs  map[string]*localDev
}

// action is one API operation. fn runs with s.mu held and returns the
// response payload (children of the root or of the Result element).
type action struct {
	fn      func(s *Sim, p params, now time.Time) (*node, *apiError)
	allowed map[string]bool // request key patterns (allowlist.go)
	elb     bool            // ELB-style response envelope
	mutate  bool            // persist state after success
}

// New builds a simulator, loading persisted state when StatePath has some.
func New(opts Options) (*Sim, error) {
	s := &Sim{
		creds:            map[string]string{},
		region:           opts.Region,
		controls:         opts.Controls,
		disks:            opts.LocalDisks,
		disksPerInstance: opts.LocalDiskPerInstance,
		now:              opts.Now,
		store:            simcore.NewStore(opts.StatePath),
		st:               newState(),
		local:            map[string]bool{},
		devs:             map[string]*localDev{},
	}
	for k, v := range opts.Credentials {
		s.creds[k] = v
	}
	if s.region == "" {
		s.region = "jp-east-1"
	}
	if s.controls == nil {
		s.controls = simcore.NewControls()
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, id := range opts.LocalInstances {
		s.local[id] = true
	}
	s.actions = s.actionTable()
	for name, pats := range paramPatterns() {
		if a, ok := s.actions[name]; ok {
			a.allowed = map[string]bool{}
			for _, k := range pats {
				a.allowed[k] = true
			}
			s.actions[name] = a
		}
	}
	if opts.StatePath != "" {
		if err := os.MkdirAll(filepath.Dir(opts.StatePath), 0o755); err != nil {
			return nil, fmt.Errorf("nifcloudsim: state dir: %w", err)
		}
	}
	loaded := newState()
	ok, err := s.store.Load(loaded)
	if err != nil {
		return nil, err
	}
	if ok {
		loaded.fill()
		for _, v := range loaded.Volumes {
			v.LocalDevice, v.LocalDeviceError = "", ""
		}
		s.st = loaded
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	s.syncLocalLocked()
	return s, nil
}

func (s *Sim) actionTable() map[string]action {
	ec2 := func(fn func(*Sim, params, time.Time) (*node, *apiError), mutate bool) action {
		return action{fn: fn, mutate: mutate}
	}
	elb := func(fn func(*Sim, params, time.Time) (*node, *apiError), mutate bool) action {
		return action{fn: fn, elb: true, mutate: mutate}
	}
	return map[string]action{
		"DescribeInstances":         ec2((*Sim).describeInstances, false),
		"DescribeInstanceAttribute": ec2((*Sim).describeInstanceAttribute, false),

		"CreateVolume":     ec2((*Sim).createVolume, true),
		"DescribeVolumes":  ec2((*Sim).describeVolumes, false),
		"AttachVolume":     ec2((*Sim).attachVolume, true),
		"DetachVolume":     ec2((*Sim).detachVolume, true),
		"DeleteVolume":     ec2((*Sim).deleteVolume, true),
		"ExtendVolumeSize": ec2((*Sim).extendVolumeSize, true),

		"CreateLoadBalancer":                  elb((*Sim).createLoadBalancer, true),
		"RegisterPortWithLoadBalancer":        elb((*Sim).registerPortWithLoadBalancer, true),
		"ConfigureHealthCheck":                elb((*Sim).configureHealthCheck, true),
		"SetFilterForLoadBalancer":            elb((*Sim).setFilterForLoadBalancer, true),
		"RegisterInstancesWithLoadBalancer":   elb((*Sim).registerInstancesWithLoadBalancer, true),
		"DeregisterInstancesFromLoadBalancer": elb((*Sim).deregisterInstancesFromLoadBalancer, true),
		"DeleteLoadBalancer":                  elb((*Sim).deleteLoadBalancer, true),
		"UpdateLoadBalancer":                  elb((*Sim).updateLoadBalancer, true),
		"DescribeLoadBalancers":               elb((*Sim).describeLoadBalancers, false),

		"NiftyCreateElasticLoadBalancer":                  elb((*Sim).createELB, true),
		"NiftyDescribeElasticLoadBalancers":               elb((*Sim).describeELBs, false),
		"NiftyRegisterPortWithElasticLoadBalancer":        elb((*Sim).registerPortWithELB, true),
		"NiftyConfigureElasticLoadBalancerHealthCheck":    elb((*Sim).configureELBHealthCheck, true),
		"NiftyRegisterInstancesWithElasticLoadBalancer":   elb((*Sim).registerInstancesWithELB, true),
		"NiftyDeregisterInstancesFromElasticLoadBalancer": elb((*Sim).deregisterInstancesFromELB, true),
		"NiftyDeleteElasticLoadBalancer":                  elb((*Sim).deleteELB, true),
		"NiftyUpdateElasticLoadBalancer":                  elb((*Sim).updateELB, true),
		"NiftyModifyElasticLoadBalancerAttributes":        elb((*Sim).modifyELBAttributes, true),

		"DescribeSecurityGroups":        ec2((*Sim).describeSecurityGroups, false),
		"AuthorizeSecurityGroupIngress": ec2((*Sim).authorizeSecurityGroupIngress, true),
		"RevokeSecurityGroupIngress":    ec2((*Sim).revokeSecurityGroupIngress, true),

		"NiftyDescribePrivateLans": ec2((*Sim).describePrivateLans, false),
	}
}

// Controls returns the counters/latency/fault controls.
func (s *Sim) Controls() *simcore.Controls { return s.controls }

// Handler serves the computing API at /api/ and the admin API under
// /_sim/nifcloud/.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(APIPath+"{$}", s.serveAPI)
	mux.Handle(AdminPrefix, s.adminHandler())
	return mux
}

func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	var form url.Values
	switch r.Method {
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			writeError(w, clientErr(CodeMalformedRequest, "The request body could not be parsed: %v", err), reqID)
			return
		}
		form = r.Form
	case http.MethodGet:
		form = r.URL.Query()
	default:
		writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: CodeMalformedRequest, Message: "Only POST and GET are supported."}, reqID)
		return
	}
	if e := s.authenticate(form, r.Method, r.Host); e != nil {
		writeError(w, e, reqID)
		return
	}
	p := params{form}
	name := p.str("Action")
	if name == "" {
		writeError(w, errMissing("Action"), reqID)
		return
	}
	if v := p.str("Version"); !supportedVersion(v) {
		writeError(w, clientErr(CodeBadVersion, "The API version '%s' is not supported; use 3.0.", v), reqID)
		return
	}
	fault, retryAfter := s.controls.Begin(r.Context(), name)
	switch fault {
	case simcore.FaultError:
		writeError(w, serverErr(CodeInternalError, "An internal error occurred (injected)."), reqID)
		return
	case simcore.FaultThrottle:
		if retryAfter < time.Second {
			retryAfter = time.Second
		}
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: CodeRequestLimitExceeded,
			Message: "Request limit exceeded (injected).", RetryAfter: retryAfter}, reqID)
		return
	case simcore.FaultTimeout:
		if r.Context().Err() != nil {
			return // the client gave up; nothing to answer
		}
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Message: "The service did not answer in time (injected)."}, reqID)
		return
	}
	act, ok := s.actions[name]
	if !ok {
		writeError(w, clientErr(CodeUnknownAction, "The action '%s' is not valid for this web service.", name), reqID)
		return
	}
	if e := checkParams(act.allowed, p); e != nil {
		writeError(w, e, reqID)
		return
	}
	payload, e := s.run(act, p)
	if e != nil {
		writeError(w, e, reqID)
		return
	}
	writeSuccess(w, name, act.elb, payload, reqID)
}

// run executes one action under the state lock, completing due transitions
// before (so the action sees current states) and after (so zero-delay
// transitions finish immediately), then persists.
func (s *Sim) run(act action, p params) (*node, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	dirty := s.settleLocked(now)
	payload, e := act.fn(s, p, now)
	if e == nil && act.mutate {
		dirty = true
	}
	if s.settleLocked(now) {
		dirty = true
	}
	s.syncLocalLocked()
	if dirty {
		if err := s.saveLocked(); err != nil {
			log.Printf("nifcloudsim: save state: %v", err)
			if e == nil {
				return nil, serverErr(CodeInternalError, "The state could not be saved.")
			}
		}
	}
	return payload, e
}

func (s *Sim) authenticate(form url.Values, method, host string) *apiError {
	err := signer.Verify(form, method, host, APIPath, func(ak string) (string, bool) {
		sk, ok := s.creds[ak]
		return sk, ok
	})
	switch {
	case err == nil:
		// Timestamp is a required common parameter, UTC
		// YYYY-MM-DDThh:mm:ssZ (the layout the signer writes).
		ts := form.Get(signer.KeyTimestamp)
		if ts == "" {
			return errMissing(signer.KeyTimestamp)
		}
		if _, perr := time.Parse(signer.TimestampLayout, ts); perr != nil {
			return errInvalid(signer.KeyTimestamp, ts)
		}
		return nil
	case errors.Is(err, signer.ErrMissingParameter):
		return clientErr(CodeMissingParameter, "Authentication failed: %v.", err)
	case errors.Is(err, signer.ErrUnsupportedVersion):
		return clientErr(CodeBadSignatureVersion, "Authentication failed: %v.", err)
	}
	if _, known := s.creds[form.Get(signer.KeyAccessKeyID)]; !known {
		return &apiError{Status: http.StatusUnauthorized, Code: CodeUnknownAccessKey,
			Message: "The AccessKeyId '" + form.Get(signer.KeyAccessKeyID) + "' does not exist."}
	}
	return &apiError{Status: http.StatusForbidden, Code: CodeSignatureMismatch,
		Message: "The request signature we calculated does not match the signature you provided."}
}

// mutateLocked runs an admin-side change with the same settle/sync/persist
// discipline as API calls.
func (s *Sim) mutate(fn func(now time.Time) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settleLocked(now)
	if err := fn(now); err != nil {
		return err
	}
	s.settleLocked(now)
	s.syncLocalLocked()
	return s.saveLocked()
}

// Snapshot returns a deep copy of the whole state.
func (s *Sim) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	return s.st.clone()
}

// SetLocalInstances replaces the set of instances that stand for this
// machine and creates/removes local devices accordingly.
func (s *Sim) SetLocalInstances(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.local = map[string]bool{}
	for _, id := range ids {
		s.local[id] = true
	}
	s.settleLocked(s.now())
	s.syncLocalLocked()
}

// supportedVersion: Version is an optional common parameter (docs.nifcloud.com
// cp/api/authenticate.htm marks it not required and shows 1.7); NIFCLOUD's
// SDK sends 3.0. Absent or any x.y from 1.0 to 3.0 is accepted; the
// simulator answers every version alike.
func supportedVersion(v string) bool {
	if v == "" {
		return true
	}
	major, minor, ok := strings.Cut(v, ".")
	if !ok || len(major) != 1 || major < "1" || major > "3" || minor == "" {
		return false
	}
	for _, c := range minor {
		if c < '0' || c > '9' {
			return false
		}
	}
	return major != "3" || strings.Trim(minor, "0") == ""
}
