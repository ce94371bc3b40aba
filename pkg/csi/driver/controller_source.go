package driver

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

// sourceInfo is what CreateVolume needs to know about a content source.
type sourceInfo struct {
	// what names the source in messages ("snapshot snap-1").
	what string
	// sizeBytes is the source's size; a restore or clone is at least as
	// large.
	sizeBytes int64
	// zone is the source's zone ("" = unknown or a cloud without zones).
	// For a snapshot it is the zone of the snapshot's source disk.
	zone string
}

// lookupSource fetches the content source (nil, nil without one), checking
// that it exists (NotFound) and that a snapshot is ready (Unavailable).
//
// A snapshot's zone is its source disk's: one more GetDisk, only for
// restores. A source disk that is gone leaves the zone unknown; the
// requested zone is then used and the cloud decides.
func (s *controllerServer) lookupSource(ctx context.Context, snapID, volID string) (*sourceInfo, error) {
	switch {
	case snapID != "":
		snap, err := s.d.snapshots.GetSnapshot(ctx, snapID)
		if err != nil {
			return nil, StatusFromError(err, fmt.Sprintf("source snapshot %s", snapID))
		}
		if !snap.ReadyToUse {
			return nil, status.Errorf(codes.Unavailable, "source snapshot %s is not ready yet", snapID)
		}
		src := &sourceInfo{what: "snapshot " + snapID, sizeBytes: snap.SizeBytes}
		if snap.SourceVolumeID != "" {
			disk, err := s.d.disks.GetDisk(ctx, snap.SourceVolumeID)
			switch {
			case err == nil:
				src.zone = disk.Zone
			case !errors.Is(err, backend.ErrNotFound):
				return nil, StatusFromError(err, fmt.Sprintf("zone of volume %s, the source of snapshot %s", snap.SourceVolumeID, snapID))
			}
		}
		return src, nil
	case volID != "":
		disk, err := s.d.disks.GetDisk(ctx, volID)
		if err != nil {
			return nil, StatusFromError(err, fmt.Sprintf("source volume %s", volID))
		}
		return &sourceInfo{what: "volume " + volID, sizeBytes: disk.SizeBytes, zone: disk.Zone}, nil
	}
	return nil, nil
}
