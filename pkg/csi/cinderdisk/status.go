package cinderdisk

import (
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

const gib = int64(1) << 30

// Cinder volume states (API reference).
const (
	volAvailable = "available"
	volInUse     = "in-use"
	volAttaching = "attaching"
	volDetaching = "detaching"
	volDeleting  = "deleting"
	volExtending = "extending"
)

// volumeStatus maps a Cinder volume status onto the cloud-neutral one.
func volumeStatus(s string) backend.DiskStatus {
	switch s {
	case "creating", "downloading", "restoring-backup":
		return backend.StatusCreating
	case volAvailable:
		return backend.StatusAvailable
	case "reserved", volAttaching:
		return backend.StatusAttaching
	case volInUse:
		return backend.StatusInUse
	case volDetaching:
		return backend.StatusDetaching
	case volExtending:
		return backend.StatusExtending
	case volDeleting:
		return backend.StatusDeleting
	}
	if strings.HasPrefix(s, "error") {
		return backend.StatusError
	}
	return backend.StatusUnknown
}

// transitional states end by themselves; any other state is final until
// someone acts on the volume.
func transitional(s string) bool {
	switch volumeStatus(s) {
	case backend.StatusCreating, backend.StatusAttaching, backend.StatusDetaching, backend.StatusExtending:
		return true
	}
	return s == "retyping" || s == "backing-up" || s == "maintenance"
}

// diskOf converts a Cinder volume.
func diskOf(v *volumes.Volume) *backend.Disk {
	d := &backend.Disk{
		ID:               v.ID,
		Name:             v.Name,
		SizeBytes:        int64(v.Size) * gib,
		Zone:             v.AvailabilityZone,
		Status:           volumeStatus(v.Status),
		SourceSnapshotID: v.SnapshotID,
		SourceVolumeID:   v.SourceVolID,
	}
	if d.SourceSnapshotID == "" && v.BackupID != nil {
		d.SourceSnapshotID = *v.BackupID // restored from a "type: backup" snapshot
	}
	if string(d.Status) != v.Status {
		d.StatusMessage = "cinder status " + v.Status
	}
	for _, a := range v.Attachments {
		if a.ServerID != "" {
			d.AttachedNodes = append(d.AttachedNodes, a.ServerID)
		}
	}
	return d
}

// attachment returns the volume's attachment to server, if any.
func attachment(v *volumes.Volume, server string) (volumes.Attachment, bool) {
	for _, a := range v.Attachments {
		if a.ServerID == server {
			return a, true
		}
	}
	return volumes.Attachment{}, false
}

// snapshotOf converts a Cinder snapshot.
func snapshotOf(s *snapshots.Snapshot) *backend.Snapshot {
	return &backend.Snapshot{
		ID:             s.ID,
		Name:           s.Name,
		SourceVolumeID: s.VolumeID,
		SizeBytes:      int64(s.Size) * gib,
		CreatedAt:      s.CreatedAt,
		ReadyToUse:     s.Status == "available",
	}
}

// sizeGiB rounds bytes up to whole GiB (Cinder's unit), at least 1.
func sizeGiB(bytes int64) int {
	n := (bytes + gib - 1) / gib
	if n < 1 {
		n = 1
	}
	return int(n)
}
