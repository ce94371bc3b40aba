package nifclouddisk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// waitTimeoutKey overrides Options.Timeout for the waits of a context
// (the cleanup after a failed create has a budget of its own).
type waitTimeoutKey struct{}

// step is one look at a volume during a wait: v is nil when the volume is
// gone. It returns done, or an error that ends the wait.
type step func(ctx context.Context, v *nifcloud.Volume) (done bool, err error)

// waitVolume looks at the volume until check is done, the wait's timeout
// passes or ctx ends. The looks come from the shared watcher, which
// batches the DescribeVolumes of all concurrent waits. Transient API
// errors (throttling, 5xx left after the client's own retries) and
// garbled answers (nifcloud.ErrUnexpectedResponse: one shared look failing
// to decode would otherwise fail every concurrent wait, and a create then
// removes its new disk) only delay the wait. It returns the last volume
// seen (nil if gone).
func (d *Disks) waitVolume(ctx context.Context, id, what string, check step) (*nifcloud.Volume, error) {
	return d.waitVolumeFrom(ctx, id, what, nil, check)
}

// waitVolumeFrom is waitVolume whose first look is start, if not nil: the
// last look of the wait just before in the same operation, so that one
// wait follows another without waiting for the next shared call.
func (d *Disks) waitVolumeFrom(ctx context.Context, id, what string, start *nifcloud.Volume, check step) (*nifcloud.Volume, error) {
	logger := klog.FromContext(ctx).WithValues("volumeID", id)
	timeout := d.opts.Timeout
	if t, ok := ctx.Value(waitTimeoutKey{}).(time.Duration); ok {
		timeout = t
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if id == "" {
		return nil, fmt.Errorf("empty volume ID: %w", backend.ErrNotFound)
	}
	wt := d.watcher.add(id)
	defer d.watcher.remove(wt)
	var last *nifcloud.Volume
	var lastErr error
	looks := 0
	err := func() error {
		if start != nil {
			last = start
			if done, err := check(wctx, start); err != nil || done {
				return err
			}
		}
		for {
			o, err := wt.next(wctx)
			if err != nil {
				return err
			}
			looks++
			switch {
			case o.err != nil && (errors.Is(o.err, backend.ErrUnavailable) || nifcloud.IsRetryable(o.err) ||
				errors.Is(o.err, nifcloud.ErrUnexpectedResponse)):
				lastErr = o.err
				logger.V(4).Info("Transient error while waiting", "waitingFor", what, "err", o.err)
				continue
			case o.err != nil:
				return o.err
			}
			last = o.v
			if done, err := check(wctx, o.v); err != nil || done {
				return err
			}
		}
	}()
	if err == nil {
		logger.V(4).Info("Wait finished", "waitingFor", what, "looks", looks)
		return last, nil
	}
	if ctx.Err() != nil {
		return last, fmt.Errorf("waiting for volume %s %s: %w", id, what, ctx.Err())
	}
	if wctx.Err() != nil {
		state := "gone"
		if last != nil {
			state = fmt.Sprintf("status %s, attachments %v", last.Status, attachmentSummary(last))
		}
		if lastErr != nil {
			state += fmt.Sprintf(", last error: %v", lastErr)
		}
		return last, fmt.Errorf("volume %s not %s within %s (%s): %w", id, what, timeout, state, backend.ErrUnavailable)
	}
	return last, err
}

func attachmentSummary(v *nifcloud.Volume) []string {
	var out []string
	for _, a := range v.Attachments {
		out = append(out, a.InstanceID+"="+a.Status)
	}
	return out
}

// attachmentTo returns the volume's attachment to instanceID, if any.
func attachmentTo(v *nifcloud.Volume, instanceID string) *nifcloud.VolumeAttachment {
	if v == nil {
		return nil
	}
	for i := range v.Attachments {
		a := &v.Attachments[i]
		if a.InstanceID == instanceID && a.Status != nifcloud.AttachmentDetached {
			return a
		}
	}
	return nil
}

// activeAttachments are the attachments that are not finished detaching.
func activeAttachments(v *nifcloud.Volume) []nifcloud.VolumeAttachment {
	var out []nifcloud.VolumeAttachment
	for _, a := range v.Attachments {
		if a.Status != nifcloud.AttachmentDetached {
			out = append(out, a)
		}
	}
	return out
}

// settled reports a volume with no transition in progress that can be seen
// (an extension of a detached disk is only visible by its size).
func settled(v *nifcloud.Volume) bool {
	if v.Status != nifcloud.VolumeStatusAvailable && v.Status != nifcloud.VolumeStatusInUse {
		return false
	}
	for _, a := range activeAttachments(v) {
		if a.Status != nifcloud.AttachmentAttached {
			return false
		}
	}
	return true
}

// scsiDevice matches the device name the node's finder understands.
var scsiDevice = regexp.MustCompile(`^SCSI\s\(0:\d+\)$`)

// waitSettled waits until the volume has no visible transition; start is
// as for waitVolumeFrom.
func (d *Disks) waitSettled(ctx context.Context, id string, start *nifcloud.Volume) (*nifcloud.Volume, error) {
	v, err := d.waitVolumeFrom(ctx, id, "settled", start, func(_ context.Context, v *nifcloud.Volume) (bool, error) {
		if v == nil {
			return false, fmt.Errorf("volume %s: %w", id, backend.ErrNotFound)
		}
		return settled(v), nil
	})
	return v, err
}
