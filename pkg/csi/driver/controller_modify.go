package driver

import (
	"context"
	"maps"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// modifier returns the backend's Modifier and the profile's parser of
// mutable parameters, or ok == false when the cloud cannot modify disks
// (both are needed: the profile validates, the backend applies).
func (d *Driver) modifier() (m backend.Modifier, p backend.MutableParameterParser, ok bool) {
	m, mok := d.disks.(backend.Modifier)
	p, pok := d.profile.(backend.MutableParameterParser)
	return m, p, mok && pok
}

// modifyUnimplemented is ControllerModifyVolume's answer on a cloud that
// cannot modify disks, with the profile's explanation when it has one.
func (d *Driver) modifyUnimplemented() error {
	msg := d.profile.Name() + " does not support ControllerModifyVolume"
	if r, ok := d.profile.(backend.ModifyUnsupportedReasoner); ok {
		msg += ": " + r.ModifyUnsupportedReason()
	}
	return status.Error(codes.Unimplemented, msg)
}

// parseMutableParameters validates mutable parameters; errors are
// InvalidArgument and name the offending key.
func (d *Driver) parseMutableParameters(in map[string]string) (backend.Parameters, error) {
	_, p, ok := d.modifier()
	if !ok {
		return backend.Parameters{}, invalidArg("mutable_parameters are not supported: %v", status.Convert(d.modifyUnimplemented()).Message())
	}
	out, err := p.ParseMutableParameters(in)
	if err != nil {
		return backend.Parameters{}, invalidArg("invalid mutable_parameters: %v", err)
	}
	return out, nil
}

// withMutableParameters applies CreateVolume's mutable_parameters (a
// VolumeAttributesClass given at creation) over the StorageClass
// parameters: the CSI specification gives them precedence.
func (d *Driver) withMutableParameters(params backend.Parameters, mutable map[string]string) (backend.Parameters, error) {
	if len(mutable) == 0 {
		return params, nil
	}
	m, err := d.parseMutableParameters(mutable)
	if err != nil {
		return backend.Parameters{}, err
	}
	out := params
	out.Values = maps.Clone(params.Values)
	if out.Values == nil {
		out.Values = map[string]string{}
	}
	maps.Copy(out.Values, m.Values)
	return out, nil
}

// ControllerModifyVolume changes a disk's mutable attributes (on Cinder,
// its volume type) and returns once the change is complete.
func (s *controllerServer) ControllerModifyVolume(ctx context.Context, req *csi.ControllerModifyVolumeRequest) (*csi.ControllerModifyVolumeResponse, error) {
	d := s.d
	m, _, ok := d.modifier()
	if !ok {
		return nil, d.modifyUnimplemented()
	}
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if len(req.GetMutableParameters()) == 0 {
		return nil, invalidArg("mutable_parameters is required")
	}
	params, err := d.parseMutableParameters(req.GetMutableParameters())
	if err != nil {
		return nil, err
	}
	release, err := d.inflight.acquire("volume", req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	defer release()
	if err := m.ModifyDisk(ctx, req.GetVolumeId(), params); err != nil {
		return nil, StatusFromError(err, "modifying volume")
	}
	klog.FromContext(ctx).Info("Volume modified", "parameters", describeParams(params.Values))
	return &csi.ControllerModifyVolumeResponse{}, nil
}
