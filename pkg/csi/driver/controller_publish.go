package driver

import (
	"context"
	"errors"
	"slices"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// ControllerPublishVolume attaches a disk to a node and returns the
// publish context the node plugin needs to find the device.
func (s *controllerServer) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId(), "node_id", req.GetNodeId()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := d.checkNodeID(req.GetNodeId()); err != nil {
		return nil, err
	}
	if err := d.validateCapability(req.GetVolumeCapability()); err != nil {
		return nil, err
	}
	if req.GetReadonly() {
		// The spec: the CO MUST set readonly to false without the
		// PUBLISH_READONLY capability. Disks are attached read-write;
		// read-only access is enforced by NodePublishVolume.
		return nil, invalidArg("readonly attachments are not supported (no PUBLISH_READONLY capability); use a read-only node publish")
	}
	release, err := d.inflight.acquire("volume", req.GetVolumeId(), "node", req.GetNodeId())
	if err != nil {
		return nil, err
	}
	defer release()

	disk, err := d.disks.GetDisk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, StatusFromError(err, "getting volume")
	}
	exists, err := d.disks.NodeExists(ctx, req.GetNodeId())
	if err != nil {
		return nil, StatusFromError(err, "looking up node")
	}
	if !exists {
		return nil, status.Errorf(codes.NotFound, "node %s not found", req.GetNodeId())
	}
	if others := otherNodes(disk.AttachedNodes, req.GetNodeId()); len(others) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to node(s) %v; access mode %s allows a single node",
			disk.ID, others, req.GetVolumeCapability().GetAccessMode().GetMode())
	}
	pc, err := d.disks.AttachDisk(ctx, disk.ID, req.GetNodeId())
	if err != nil {
		return nil, StatusFromError(err, "attaching volume")
	}
	if slices.Contains(disk.AttachedNodes, req.GetNodeId()) {
		klog.FromContext(ctx).V(2).Info("Volume already attached", "publishContext", pc)
	} else {
		klog.FromContext(ctx).Info("Volume attached", "publishContext", pc)
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: pc}, nil
}

func otherNodes(attached []string, node string) []string {
	var others []string
	for _, n := range attached {
		if n != node {
			others = append(others, n)
		}
	}
	return others
}

// ControllerUnpublishVolume detaches a disk from a node (from every node
// when node_id is empty). A missing disk or node is success.
func (s *controllerServer) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	d := s.d
	if err := require("volume_id", req.GetVolumeId()); err != nil {
		return nil, err
	}
	if err := d.checkVolumeID(req.GetVolumeId()); err != nil {
		return nil, err
	}
	if id := req.GetNodeId(); id != "" {
		if err := d.checkNodeID(id); err != nil {
			return nil, err
		}
	}
	release, err := d.inflight.acquire("volume", req.GetVolumeId(), "node", req.GetNodeId())
	if err != nil {
		return nil, err
	}
	defer release()
	logger := klog.FromContext(ctx)

	nodes := []string{req.GetNodeId()}
	if req.GetNodeId() == "" {
		disk, err := d.disks.GetDisk(ctx, req.GetVolumeId())
		if errors.Is(err, backend.ErrNotFound) {
			logger.V(2).Info("Volume already gone")
			return &csi.ControllerUnpublishVolumeResponse{}, nil
		}
		if err != nil {
			return nil, StatusFromError(err, "getting volume")
		}
		nodes = disk.AttachedNodes
	}
	for _, node := range nodes {
		err := d.disks.DetachDisk(ctx, req.GetVolumeId(), node)
		switch {
		case errors.Is(err, backend.ErrNotFound):
			logger.V(2).Info("Volume or node already gone", "node", node)
		case err != nil:
			return nil, StatusFromError(err, "detaching volume from node "+node)
		default:
			logger.Info("Volume detached", "node", node)
		}
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}
