package cinderdisk

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumetypes"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

const volRetyping = "retyping"

var _ backend.Modifier = (*Backend)(nil)

// ModifyDisk implements backend.Modifier: the mutable parameter "type"
// retypes the volume (os-retype) with the "migrationpolicy" parameter
// (default on-demand) and waits until Cinder is done. A volume already of
// the type succeeds without a call; Cinder refuses a retype to the
// current type with a 400.
func (b *Backend) ModifyDisk(ctx context.Context, id string, params backend.Parameters) error {
	if err := checkIDs("volume_id", id); err != nil {
		return err
	}
	newType := params.Get(profile.CinderParamType)
	if newType == "" {
		return nil // only a migration policy: nothing to change
	}
	policy := params.Get(profile.CinderParamMigrationPolicy)
	if policy == "" {
		policy = profile.CinderDefaultMigrationPolicy
	}
	if err := b.types.check(ctx, newType); err != nil {
		return err
	}
	// A retype still running (a retried call) is waited for first.
	v, err := b.waitSettled(ctx, id)
	if err != nil {
		return err
	}
	target, err := b.typeName(ctx, newType)
	if err != nil {
		return err
	}
	logger := klog.FromContext(ctx).WithValues("volumeID", id, "fromType", v.VolumeType, "toType", target)
	if v.VolumeType == target {
		logger.V(2).Info("Volume already has the requested type")
		return nil
	}
	status := v.Status
	if status != volAvailable && status != volInUse {
		return fmt.Errorf("volume %s is %q; Cinder retypes only available or in-use volumes: %w", id, status, backend.ErrFailedPrecondition)
	}
	err = volumes.ChangeType(ctx, b.block, id, volumes.ChangeTypeOpts{
		NewType: newType, MigrationPolicy: volumes.MigrationPolicy(policy),
	}).ExtractErr()
	if err != nil {
		return b.retypeError(err, id, newType)
	}
	logger.V(2).Info("Cinder volume retype requested", "migrationPolicy", policy)
	v, err = b.waitVolume(ctx, id, fmt.Sprintf("volume %s to be retyped to %q", id, target), false, func(v *volumes.Volume) (bool, error) {
		if v == nil {
			return false, nil
		}
		if volumeStatus(v.Status) == backend.StatusError {
			return false, fmt.Errorf("retyping volume %s to %q failed (status %q)", id, target, v.Status)
		}
		return v.Status != volRetyping && !transitional(v.Status), nil
	})
	if err != nil {
		return err
	}
	if v.VolumeType != target {
		return retypeFailed(id, v.VolumeType, target, policy)
	}
	logger.Info("Cinder volume retyped", "migrationPolicy", policy)
	return nil
}

// typeName returns the name of a volume type given by name or ID: Cinder
// shows a volume's type by name. A name is returned as is; only a value
// that is no name of the cache's list costs a GET.
func (b *Backend) typeName(ctx context.Context, nameOrID string) (string, error) {
	if !uuidLike(nameOrID) {
		return nameOrID, nil
	}
	vt, err := volumetypes.Get(ctx, b.block, nameOrID).Extract()
	switch {
	case isNotFound(err):
		return nameOrID, nil // a type named like a UUID
	case err != nil:
		return "", apiError(err, "getting volume type %s", nameOrID)
	}
	return vt.Name, nil
}

// retypeError maps a refused os-retype: an unknown type names the "type"
// parameter, a 400 is the volume's state (or a migration in progress).
func (b *Backend) retypeError(err error, id, newType string) error {
	switch {
	case isVolumeTypeNotFound(err):
		b.types.invalidate()
		return b.types.unknownError(newType, err)
	case httpStatus(err) == http.StatusBadRequest:
		return fmt.Errorf("cinder refuses to retype volume %s to %q (the volume must be available or in-use and not migrating): %w: %w",
			id, newType, backend.ErrFailedPrecondition, err)
	}
	return apiError(err, "retyping volume %s to %q", id, newType)
}

// retypeFailed is the error for a retype Cinder accepted but did not
// carry out: with migration policy never the usual cause is that the new
// type lives on another backend, which only a migration reaches; the
// class has to change for that, so it is InvalidArgument.
func retypeFailed(id, current, target, policy string) error {
	if policy == profile.CinderMigrationNever {
		return fmt.Errorf("cinder did not retype volume %s to %q (it is still %q): the type is probably on another backend, which needs a migration; "+
			"set mutable parameter migrationPolicy to on-demand to allow it: %w", id, target, current, backend.ErrInvalidArgument)
	}
	return fmt.Errorf("cinder did not retype volume %s to %q (it is still %q); see the volume's messages in Cinder: %w",
		id, target, current, backend.ErrUnavailable)
}

// uuidLike mirrors oslo's is_uuid_like, which Cinder uses to decide
// whether a type is looked up by ID first: 32 hex digits, dashes ignored.
func uuidLike(s string) bool {
	n := 0
	for _, c := range s {
		switch {
		case c == '-':
			continue
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			n++
		default:
			return false
		}
	}
	return n == 32
}
