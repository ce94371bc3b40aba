package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/backoff"
	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/driver"
	"github.com/kumo-project/kumo/tests/csitest"
)

// Sidecar-style retries: every CSI call is repeated with the same
// arguments until it succeeds, at most maxAttempts times, each attempt
// bounded by callTimeout (external-provisioner's --timeout).
const (
	maxAttempts = 30
	callTimeout = 15 * time.Second
)

// sidecarRetry is the sidecars' exponential backoff, shortened.
var sidecarRetry = backoff.Policy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Factor: 2, Jitter: 0.1}

// opStats counts the calls of one CSI method.
type opStats struct {
	calls, failures atomic.Int64
	giveUps         atomic.Int64 // operations that used up maxAttempts
}

// volResult is what one cloud's volume run measured.
type volResult struct {
	Cloud     string
	Volumes   int
	UpWall    time.Duration
	DownWall  time.Duration
	Ops       map[string]*opStats // by CSI method
	Created   int                 // disks present after the create phase
	Duplicate []string            // names with more than one disk at once
	Recreated map[string]int      // names whose disk was created more than once over time
	// WireCreates are the successful disk creations seen on the wire.
	WireCreates int
}

// volumeCloud is what the volume run needs from one cloud.
type volumeCloud struct {
	name    string
	disks   backend.Disks
	profile backend.Profile
	nodes   []string
	// disksByName lists the cloud's disks per CSI volume name.
	disksByName func(names []string) map[string]int
	creates     *createLog
	// wireName maps a CSI name to what the create log records.
	wireName func(string) string
}

// runVolumes serves the real CSI controller on a unix socket and, for n
// volumes at once, creates and publishes each (retrying like the
// sidecars), checks that every name has exactly one disk, then
// unpublishes and deletes each.
func runVolumes(ctx context.Context, vc volumeCloud, n int) (*volResult, error) {
	logger := klog.FromContext(ctx).WithValues("cloud", vc.name, "workload", "volumes")
	ctx = klog.NewContext(ctx, logger)
	cc, stop, err := csitest.ServeController(ctx, driver.Options{Profile: vc.profile, Disks: vc.disks, Version: "chaos", ShutdownTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	defer stop()
	ctrl := csi.NewControllerClient(cc)
	res := &volResult{Cloud: vc.name, Volumes: n, Ops: map[string]*opStats{}, Recreated: map[string]int{}}
	for _, m := range []string{"CreateVolume", "ControllerPublishVolume", "ControllerUnpublishVolume", "DeleteVolume"} {
		res.Ops[m] = &opStats{}
	}
	names := make([]string, n)
	ids := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("pvc-chaos-%s-%04d", vc.name, i)
	}
	node := func(i int) string { return vc.nodes[i%len(vc.nodes)] }

	start := time.Now()
	err = forEach(n, func(i int) error {
		err := retry(ctx, res.Ops["CreateVolume"], func(ctx context.Context) error {
			v, err := ctrl.CreateVolume(ctx, &csi.CreateVolumeRequest{Name: names[i],
				VolumeCapabilities: []*csi.VolumeCapability{csitest.MountCapability()}, CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30}})
			if err == nil {
				ids[i] = v.GetVolume().GetVolumeId()
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("CreateVolume %s: %w", names[i], err)
		}
		return retry(ctx, res.Ops["ControllerPublishVolume"], func(ctx context.Context) error {
			_, err := ctrl.ControllerPublishVolume(ctx, &csi.ControllerPublishVolumeRequest{VolumeId: ids[i],
				NodeId: node(i), VolumeCapability: csitest.MountCapability()})
			return err
		})
	})
	res.UpWall = time.Since(start)
	// Checked before any deletion: one disk per name, nothing else.
	per := vc.disksByName(names)
	for _, name := range names {
		res.Created += min(per[name], 1)
		if per[name] > 1 {
			res.Duplicate = append(res.Duplicate, name)
		}
	}
	created := vc.creates.snapshot()
	for _, name := range names {
		c := created[vc.wireName(name)]
		res.WireCreates += c
		if c > 1 {
			res.Recreated[name] = c
		}
	}
	logger.Info("Create+publish phase done", "took", res.UpWall, "disks", res.Created, "duplicates", len(res.Duplicate), "err", err)
	upErr := err

	// Deletion runs for every volume that got an ID, even after failures,
	// so that a failed run leaves as little as possible behind.
	start = time.Now()
	err = forEach(n, func(i int) error {
		if ids[i] == "" {
			return nil
		}
		err := retry(ctx, res.Ops["ControllerUnpublishVolume"], func(ctx context.Context) error {
			_, err := ctrl.ControllerUnpublishVolume(ctx, &csi.ControllerUnpublishVolumeRequest{VolumeId: ids[i], NodeId: node(i)})
			return err
		})
		if err != nil {
			return fmt.Errorf("ControllerUnpublishVolume %s: %w", ids[i], err)
		}
		return retry(ctx, res.Ops["DeleteVolume"], func(ctx context.Context) error {
			_, err := ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: ids[i]})
			return err
		})
	})
	res.DownWall = time.Since(start)
	logger.Info("Unpublish+delete phase done", "took", res.DownWall, "err", err)
	return res, errors.Join(upErr, err)
}

// retry calls fn until it succeeds, the error is final (invalid argument,
// not found on create…) or maxAttempts is used up.
func retry(ctx context.Context, st *opStats, fn func(ctx context.Context) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		st.calls.Add(1)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err = fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		st.failures.Add(1)
		switch status.Code(err) {
		case codes.InvalidArgument, codes.AlreadyExists, codes.OutOfRange, codes.Unimplemented:
			return err // the sidecars do not fix these by retrying
		}
		if serr := backoff.Sleep(ctx, sidecarRetry.Delay(attempt)); serr != nil {
			return errors.Join(err, serr)
		}
	}
	st.giveUps.Add(1)
	return fmt.Errorf("gave up after %d attempts: %w", maxAttempts, err)
}

// forEach runs op for 0..n-1 concurrently and joins the errors.
func forEach(n int, op func(i int) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := op(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
