package openstacksim

// Local devices: a volume attached to a server standing for this machine
// gets a real block device from Options.LocalDisks, linked as
// dev/disk/by-id/virtio-<first 20 chars of the volume ID> (what
// cinder-csi-plugin's node service scans for).

import (
	"log"

	"github.com/kumo-project/kumo/pkg/cloudsim/localdisk"
)

// VirtioLink is the by-id link of a volume relative to the disk root.
func VirtioLink(volumeID string) string {
	id := volumeID
	if len(id) > 20 {
		id = id[:20]
	}
	return "dev/disk/by-id/virtio-" + id
}

// SetLocalServers replaces the set of servers that stand for this machine
// and attaches/detaches local devices to match.
func (s *Sim) SetLocalServers(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked()
	s.local = map[string]bool{}
	for _, id := range ids {
		s.local[id] = true
	}
	s.state.LocalServers = append([]string{}, ids...)
	s.syncLocalDisksLocked()
	s.persistLocked()
}

func (s *Sim) attachedLocallyLocked(v *Volume) bool {
	for _, a := range v.Attachments {
		if s.local[a.ServerID] {
			return true
		}
	}
	return false
}

// syncLocalDisksLocked makes local devices match the attachments, e.g.
// after a restart (loop devices do not survive the process) or a change of
// the local server set. Attach is idempotent.
func (s *Sim) syncLocalDisksLocked() {
	if s.opts.LocalDisks == nil {
		return
	}
	for _, id := range sortedKeys(s.state.Volumes) {
		v := s.state.Volumes[id]
		switch {
		case v.Status != "attaching" && v.Status != "deleting" && s.attachedLocallyLocked(v):
			s.localAttachLocked(v)
		case v.LocalDevice != "":
			s.localDetachLocked(v)
		}
	}
}

func (s *Sim) localAttachLocked(v *Volume) {
	if s.opts.LocalDisks == nil || !s.attachedLocallyLocked(v) {
		return
	}
	link := VirtioLink(v.ID)
	if s.opts.LocalDiskPerServer {
		for _, a := range v.Attachments {
			if s.local[a.ServerID] {
				link = a.ServerID + "/" + link
				break
			}
		}
	}
	dev, err := s.opts.LocalDisks.Attach(v.ID, int64(v.Size)<<30, []string{link})
	if err != nil {
		v.LocalError = "attach: " + err.Error()
		return
	}
	v.LocalDevice, v.LocalError = dev, ""
}

func (s *Sim) localDetachLocked(v *Volume) {
	if s.opts.LocalDisks == nil {
		return
	}
	if err := s.opts.LocalDisks.Detach(v.ID); err != nil {
		v.LocalError = "detach: " + err.Error()
		return
	}
	v.LocalDevice = ""
}

func (s *Sim) localResizeLocked(v *Volume) {
	if s.opts.LocalDisks == nil {
		return
	}
	if err := s.opts.LocalDisks.Resize(v.ID, int64(v.Size)<<30); err != nil {
		v.LocalError = "resize: " + err.Error()
	}
}

func (s *Sim) localDeleteLocked(v *Volume) {
	if s.opts.LocalDisks == nil {
		return
	}
	_ = s.opts.LocalDisks.Delete(v.ID)
}

// snapshotDataID is the local data of a snapshot.
func snapshotDataID(snapshotID string) string { return "snapshot-" + snapshotID }

// copyLocalLocked copies local data (snapshot, restore, clone) when the
// disks manager can; the copy is what real Cinder's backend does, so a
// restored volume holds the source's file system.
func (s *Sim) copyLocalLocked(from, to string) {
	c, ok := s.opts.LocalDisks.(localdisk.DataCopier)
	if !ok {
		return
	}
	if err := c.CopyData(from, to); err != nil {
		log.Printf("openstacksim: %v", err)
	}
}
