// Package startuptaint removes a node's startup taint
// <driver>/agent-not-ready once the CSI node plugin is usable there: the
// kubelet has registered the driver in the node's CSINode (and with it the
// attach limit). Operators start kubelets with
// --register-with-taints=<driver>/agent-not-ready:NoExecute so that no Pod
// needing a volume lands on a node whose plugin is not up yet (the
// scheduler ignores attach limits until CSINode lists the driver,
// kubernetes#95911), as with the AWS EBS CSI driver's
// ebs.csi.aws.com/agent-not-ready.
//
// Unlike EBS it reads the Node afresh before every patch (EBS retried a
// stale copy forever, aws-ebs-csi-driver#2575), never gives up while the
// process runs, and keeps checking for a while after removal in case the
// taint is put back by whatever provisions nodes (#2447).
package startuptaint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
)

// KeySuffix follows the driver name in the taint key.
const KeySuffix = "/agent-not-ready"

// Defaults of Options.
const (
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
	DefaultRecheckFor     = 2 * time.Minute
	DefaultRecheckEvery   = 10 * time.Second
)

// conflictRetries bound the immediate retries after the Node's taints
// changed between our read and our patch.
const conflictRetries = 5

// attemptTimeout bounds one attempt's requests: client-go sets no
// timeout, and a hung connection must not stall the retries.
const attemptTimeout = 30 * time.Second

// Key is the startup taint key of a CSI driver.
func Key(driverName string) string { return driverName + KeySuffix }

// Options configure a Remover.
type Options struct {
	// Client reads Nodes and CSINodes and patches the Node. Required.
	Client kubernetes.Interface
	// NodeName is this node's Kubernetes name. Required.
	NodeName string
	// DriverName is the CSI driver name; the taint key is
	// <DriverName>/agent-not-ready. Required.
	DriverName string
	// InitialBackoff and MaxBackoff bound the exponential wait between
	// attempts while the driver is not registered or the API fails.
	InitialBackoff, MaxBackoff time.Duration
	// RecheckFor is how long after the taint is gone (removed by us, or
	// never there) it is looked for again every RecheckEvery; a
	// negative RecheckFor disables the rechecks.
	RecheckFor, RecheckEvery time.Duration
}

// Remover removes the startup taint from one Node.
type Remover struct {
	opts Options
	key  string
}

// New validates opts and fills the defaults.
func New(opts Options) (*Remover, error) {
	var errs []error
	if opts.Client == nil {
		errs = append(errs, errors.New("startup taint: a Kubernetes client is required"))
	}
	if opts.NodeName == "" {
		errs = append(errs, errors.New("startup taint: the node name is required (--node-name or NODE_NAME)"))
	}
	if opts.DriverName == "" {
		errs = append(errs, errors.New("startup taint: the driver name is required"))
	}
	for name, d := range map[string]time.Duration{"initial backoff": opts.InitialBackoff, "max backoff": opts.MaxBackoff, "recheck interval": opts.RecheckEvery} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("startup taint: %s must not be negative (got %s)", name, d))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = DefaultInitialBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.InitialBackoff {
		opts.MaxBackoff = opts.InitialBackoff
	}
	if opts.RecheckFor == 0 {
		opts.RecheckFor = DefaultRecheckFor
	}
	if opts.RecheckEvery == 0 {
		opts.RecheckEvery = DefaultRecheckEvery
	}
	return &Remover{opts: opts, key: Key(opts.DriverName)}, nil
}

// TaintKey is the key of the taint this Remover removes.
func (r *Remover) TaintKey() string { return r.key }

// Start runs the Remover in its own goroutine, so the CSI server is never
// held up by the API server; the returned channel closes when it stops.
func (r *Remover) Start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return done
}

// Run removes the taint once the driver is registered and returns when
// the taint has stayed away for RecheckFor, or when ctx ends. API errors
// are retried with backoff; they do not restart the recheck period.
func (r *Remover) Run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("node", r.opts.NodeName, "taint", r.key)
	ctx = klog.NewContext(ctx, logger)
	backoff := r.opts.InitialBackoff
	var clearSince time.Time // since when the taint is known to be gone
	var last string          // the last outcome logged, to log changes only
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		res, err := r.attempt(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			r.logFailure(logger, err, &last)
		case res == unregistered:
			if last != "unregistered" {
				logger.Info("Waiting for the kubelet to register the Node")
				last = "unregistered"
			}
		case res == waiting:
			clearSince = time.Time{}
			if last != "waiting" {
				logger.Info("Keeping the startup taint until the kubelet registers the driver in CSINode", "driver", r.opts.DriverName)
				last = "waiting"
			}
		default: // removed, or absent
			if clearSince.IsZero() || res == removed {
				clearSince = time.Now() // a put-back taint restarts the period
			}
			backoff, last = r.opts.InitialBackoff, ""
		}
		wait := backoff
		if err != nil || res == waiting || res == unregistered {
			backoff = min(2*backoff, r.opts.MaxBackoff)
		}
		if !clearSince.IsZero() {
			if r.opts.RecheckFor < 0 || time.Since(clearSince) >= r.opts.RecheckFor {
				logger.V(4).Info("Startup taint check finished")
				return
			}
			if err == nil {
				wait = r.opts.RecheckEvery
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// logFailure logs an error when it differs from the last one logged, so a
// lasting outage or missing RBAC logs once, not every few seconds.
func (r *Remover) logFailure(logger klog.Logger, err error, last *string) {
	msg := err.Error()
	if msg == *last {
		logger.V(4).Info("Startup taint removal still failing", "err", msg)
		return
	}
	*last = msg
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		logger.Error(err, "Cannot remove the startup taint: the node plugin's ServiceAccount needs get and patch on nodes and get on csinodes.storage.k8s.io; retrying")
		return
	}
	logger.Error(err, "Startup taint removal failed; retrying")
}

// result is what one attempt found.
type result int

const (
	absent       result = iota // no taint with our key
	waiting                    // taint present, driver not registered yet
	unregistered               // no Node yet
	removed                    // we removed it
)

// attempt reads the Node and, if it has the taint and CSINode lists the
// driver, removes every taint with the key. Nothing is written when the
// taint is absent.
func (r *Remover) attempt(ctx context.Context) (result, error) {
	logger := klog.FromContext(ctx)
	nodes := r.opts.Client.CoreV1().Nodes()
	for try := 0; ; try++ {
		node, err := nodes.Get(ctx, r.opts.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return unregistered, nil // the plugin often starts before the kubelet registers
		}
		if err != nil {
			return waiting, fmt.Errorf("get node: %w", err)
		}
		keep, effects := withoutKey(node.Spec.Taints, r.key)
		if len(effects) == 0 {
			return absent, nil
		}
		if try == 0 {
			count, registered, err := r.registered(ctx)
			if err != nil {
				return waiting, err
			}
			if !registered {
				return waiting, nil
			}
			logger.V(2).Info("CSINode lists the driver", "driver", r.opts.DriverName, "allocatable", count)
		}
		patch, err := taintPatch(node.Spec.Taints, keep)
		if err != nil {
			return waiting, err
		}
		_, err = nodes.Patch(ctx, r.opts.NodeName, types.JSONPatchType, patch, metav1.PatchOptions{})
		if err == nil {
			logger.Info("Removed the startup taint: the CSI node plugin is registered", "effects", effects)
			return removed, nil
		}
		// 422 from the failed "test" (the taints changed since our read),
		// or 409: read again and retry at once.
		if (apierrors.IsInvalid(err) || apierrors.IsConflict(err)) && try < conflictRetries {
			logger.V(4).Info("Node taints changed concurrently; reading the Node again", "err", err.Error())
			continue
		}
		return waiting, fmt.Errorf("patch node taints: %w", err)
	}
}

// registered reports whether the node's CSINode lists the driver, and the
// attach limit the kubelet recorded with it ("" when none).
func (r *Remover) registered(ctx context.Context) (string, bool, error) {
	csiNode, err := r.opts.Client.StorageV1().CSINodes().Get(ctx, r.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil // the kubelet creates it shortly after the Node
	}
	if err != nil {
		return "", false, fmt.Errorf("get csinode: %w", err)
	}
	for _, d := range csiNode.Spec.Drivers {
		if d.Name != r.opts.DriverName {
			continue
		}
		count := ""
		if d.Allocatable != nil && d.Allocatable.Count != nil {
			count = fmt.Sprint(*d.Allocatable.Count)
		}
		return count, true, nil
	}
	return "", false, nil
}

// withoutKey returns the taints without key and the effects of those
// dropped.
func withoutKey(taints []v1.Taint, key string) ([]v1.Taint, []string) {
	keep := []v1.Taint{}
	var effects []string
	for _, t := range taints {
		if t.Key == key {
			effects = append(effects, string(t.Effect))
			continue
		}
		keep = append(keep, t)
	}
	return keep, effects
}

// taintPatch is a JSON patch that replaces the taints only if they are
// still exactly what we read: a concurrent change (another agent removing
// its own startup taint, the node lifecycle controller) fails the "test"
// with 422 instead of being overwritten.
func taintPatch(old, keep []v1.Taint) ([]byte, error) {
	type op struct {
		Op    string     `json:"op"`
		Path  string     `json:"path"`
		Value []v1.Taint `json:"value"`
	}
	return json.Marshal([]op{
		{Op: "test", Path: "/spec/taints", Value: old},
		{Op: "replace", Path: "/spec/taints", Value: keep},
	})
}
