package nifcloudsim

import (
	"fmt"
	"log"
)

// localDev is a real device this process made for a volume.
type localDev struct {
	instance string
	slot     int
	sizeGB   int
	failed   bool // the last attempt failed; not retried until the wish changes
}

// byPathLink is where the node plugin looks for SCSI (0:N), relative to the
// LocalDisks root.
func byPathLink(slot int) string {
	return fmt.Sprintf("dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:%d:0", slot)
}

func gibBytes(gb int) int64 { return int64(gb) << 30 }

// syncLocalLocked makes the real devices match the state: every volume
// attached (or being extended or detached) to a local instance has a
// loop device linked at its SCSI slot; nothing else has one. It is
// idempotent and runs after every change and on load, so devices come back
// after a restart.
func (s *Sim) syncLocalLocked() {
	if s.disks == nil {
		return
	}
	want := map[string]*Volume{}
	for id, v := range s.st.Volumes {
		a := v.Attachment
		if a == nil || !s.local[a.InstanceID] {
			continue
		}
		// The device exists from the end of an attach to the end of a
		// detach; an extend ("attaching" again) keeps it.
		if a.Status == "attached" || a.Status == "detaching" || v.Op == opExtend {
			want[id] = v
		}
	}
	for _, id := range sortedKeys(s.devs) {
		d := s.devs[id]
		v, ok := want[id]
		if ok && v.Attachment.Slot == d.slot && v.Attachment.InstanceID == d.instance {
			continue
		}
		if !d.failed {
			if err := s.disks.Detach(id); err != nil {
				log.Printf("nifcloudsim: detach local device of %s: %v", id, err)
			}
		}
		delete(s.devs, id)
		if vol, ok := s.st.Volumes[id]; ok {
			vol.LocalDevice, vol.LocalDeviceError = "", ""
		}
	}
	for _, id := range sortedKeys(want) {
		v := want[id]
		d, ok := s.devs[id]
		if !ok {
			d = &localDev{instance: v.Attachment.InstanceID, slot: v.Attachment.Slot, sizeGB: v.Size}
			s.devs[id] = d
			link := byPathLink(d.slot)
			if s.disksPerInstance {
				link = d.instance + "/" + link
			}
			dev, err := s.disks.Attach(id, gibBytes(v.Size), []string{link})
			if err != nil {
				d.failed = true
				v.LocalDeviceError = err.Error()
				log.Printf("nifcloudsim: attach local device of %s: %v", id, err)
				continue
			}
			v.LocalDevice, v.LocalDeviceError = dev, ""
			continue
		}
		if d.failed || d.sizeGB == v.Size {
			continue
		}
		d.sizeGB = v.Size
		if err := s.disks.Resize(id, gibBytes(v.Size)); err != nil {
			v.LocalDeviceError = err.Error()
			log.Printf("nifcloudsim: resize local device of %s: %v", id, err)
		}
	}
}

// deleteLocalLocked removes the backing data of a deleted volume.
func (s *Sim) deleteLocalLocked(volumeID string) {
	if s.disks == nil {
		return
	}
	delete(s.devs, volumeID)
	if err := s.disks.Delete(volumeID); err != nil {
		log.Printf("nifcloudsim: delete local data of %s: %v", volumeID, err)
	}
}
