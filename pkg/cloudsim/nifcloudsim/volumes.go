package nifcloudsim

import (
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

const (
	opCreate = "create"
	opAttach = "attach"
	opDetach = "detach"
	opExtend = "extend"

	minVolumeGB    = 100
	maxVolumeGB    = 8000
	maxFlashGB     = 1100 // DiskType 5 ("flash")
	extendStepGB   = 100
	maxSCSISlot    = 14 // SCSI (0:1) … SCSI (0:14); 0 is the system disk
	maxDescription = 40
)

var volumeIDPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,32}$`)

func (s *Sim) volumeFromParams(p params) (*Volume, *apiError) {
	id, e := p.req("VolumeId")
	if e != nil {
		return nil, e
	}
	v, ok := s.st.Volumes[id]
	if !ok {
		return nil, errVolumeNotFound(id)
	}
	return v, nil
}

func instanceUsable(in *Instance) *apiError {
	if in.State != "running" && in.State != "stopped" {
		return clientErr(CodeInstanceInoperable, "The instance '%s' is %s; it must be running or stopped.", in.InstanceID, in.State)
	}
	return nil
}

// freeSlotLocked returns the lowest free SCSI slot of the instance, or 0.
func (s *Sim) freeSlotLocked(instanceID string) int {
	used := map[int]bool{}
	for _, v := range s.st.Volumes {
		if a := v.Attachment; a != nil && a.InstanceID == instanceID {
			used[a.Slot] = true
		}
	}
	for n := 1; n <= maxSCSISlot; n++ {
		if !used[n] {
			return n
		}
	}
	return 0
}

func (s *Sim) attachLocked(v *Volume, in *Instance, op string, now time.Time) *apiError {
	slot := s.freeSlotLocked(in.InstanceID)
	if slot == 0 {
		return clientErr(CodeInstanceVolumeLimit, "The instance '%s' already has %d disks attached.", in.InstanceID, maxSCSISlot)
	}
	v.Attachment = &Attachment{
		InstanceID: in.InstanceID, InstanceUniqueID: in.InstanceUniqueID,
		Slot: slot, Status: "attaching", AttachTime: now,
	}
	v.Op = op
	v.ReadyAt = now.Add(s.controls.TransitionDelay("volume." + op))
	return nil
}

func (s *Sim) createVolume(p params, now time.Time) (*node, *apiError) {
	in, e := s.instanceFromParams(p, true)
	if e != nil {
		return nil, e
	}
	if e := instanceUsable(in); e != nil {
		return nil, e
	}
	size, e := p.reqInt("Size", minVolumeGB, maxVolumeGB)
	if e != nil || size%extendStepGB != 0 {
		return nil, clientErr(CodeInvalidVolumeSize, "The Size '%s' is invalid: it must be a multiple of 100 between %d and %d (GB).", p.str("Size"), minVolumeGB, maxVolumeGB)
	}
	diskType := p.str("DiskType")
	if diskType == "" {
		diskType = "2"
	}
	if n, err := strconv.Atoi(diskType); err != nil || n < 2 || n > 9 {
		return nil, clientErr(CodeInvalidDiskType, "The DiskType '%s' is invalid.", diskType)
	}
	if diskType == "5" && size > maxFlashGB {
		return nil, clientErr(CodeInvalidVolumeSize, "Flash disks are at most %d GB.", maxFlashGB)
	}
	acct := p.str("AccountingType")
	if acct == "" {
		acct = "2"
	}
	if acct != "1" && acct != "2" {
		return nil, clientErr(CodeInvalidAccountingType, "The AccountingType '%s' is invalid.", acct)
	}
	desc := p.Get("Description")
	if utf8.RuneCountInString(desc) > maxDescription {
		return nil, clientErr(CodeDescriptionTooLong, "The Description must be at most %d characters.", maxDescription)
	}
	id := p.str("VolumeId")
	switch {
	case id == "":
		id = uniqueID("", func(x string) bool { _, ok := s.st.Volumes[x]; return ok })
	case !volumeIDPattern.MatchString(id):
		return nil, clientErr(CodeInvalidVolumeIDPattern, "The VolumeId '%s' is invalid.", id)
	default:
		if _, ok := s.st.Volumes[id]; ok {
			return nil, clientErr(CodeVolumeDuplicate, "The VolumeId '%s' already exists.", id)
		}
	}
	v := &Volume{
		VolumeID: id,
		VolumeUniqueID: uniqueID("vol-", func(x string) bool {
			for _, o := range s.st.Volumes {
				if o.VolumeUniqueID == x {
					return true
				}
			}
			return false
		}),
		Size: size, DiskType: diskType, Zone: in.Zone, Status: "creating",
		Description: desc, AccountingType: acct, CreateTime: now,
	}
	if e := s.attachLocked(v, in, opCreate, now); e != nil {
		return nil, e
	}
	s.st.Volumes[id] = v
	return group(
		tx("volumeId", v.VolumeID),
		tx("volumeUniqueId", v.VolumeUniqueID),
		tx("size", v.Size),
		tx("diskType", v.DiskType),
		tx("snapshotId", ""),
		tx("availabilityZone", v.Zone),
		tx("status", v.Status),
		tx("createTime", v.CreateTime),
		tx("accountingType", v.AccountingType),
		tx("description", v.Description),
	), nil
}

func volumeNode(v *Volume) *node {
	var atts []*node
	if a := v.Attachment; a != nil {
		atts = append(atts, group(
			tx("volumeId", v.VolumeID),
			tx("instanceId", a.InstanceID),
			tx("instanceUniqueId", a.InstanceUniqueID),
			tx("device", scsiDevice(a.Slot)),
			tx("status", a.Status),
			tx("attachTime", a.AttachTime),
			tx("deleteOnTermination", false),
		))
	}
	return group(
		tx("volumeId", v.VolumeID),
		tx("volumeUniqueId", v.VolumeUniqueID),
		tx("size", strconv.Itoa(v.Size)),
		tx("diskType", v.DiskType),
		tx("snapshotId", ""),
		tx("availabilityZone", v.Zone),
		tx("status", v.Status),
		tx("createTime", v.CreateTime),
		items("attachmentSet", atts),
		tx("description", v.Description),
		tx("accountingType", v.AccountingType),
		tx("nextMonthAccountingType", v.AccountingType),
	)
}

func (s *Sim) describeVolumes(p params, _ time.Time) (*node, *apiError) {
	ids := p.list("VolumeId")
	if len(ids) == 0 {
		ids = sortedKeys(s.st.Volumes)
	}
	var out []*node
	for _, id := range ids {
		v, ok := s.st.Volumes[id]
		if !ok {
			return nil, errVolumeNotFound(id)
		}
		out = append(out, volumeNode(v))
	}
	return group(items("volumeSet", out)), nil
}

func attachmentResult(v *Volume) *node {
	a := v.Attachment
	return group(
		tx("volumeId", v.VolumeID),
		tx("volumeUniqueId", v.VolumeUniqueID),
		tx("instanceId", a.InstanceID),
		tx("instanceUniqueId", a.InstanceUniqueID),
		tx("device", scsiDevice(a.Slot)),
		tx("status", a.Status),
		tx("attachTime", a.AttachTime),
	)
}

func errProcessing(v *Volume) *apiError {
	return clientErr(CodeVolumeProcessing, "The volume '%s' is being processed (%s); try again later.", v.VolumeID, v.Op)
}

func (s *Sim) attachVolume(p params, now time.Time) (*node, *apiError) {
	v, e := s.volumeFromParams(p)
	if e != nil {
		return nil, e
	}
	in, e := s.instanceFromParams(p, true)
	if e != nil {
		return nil, e
	}
	if a := v.Attachment; a != nil && a.Status != "detaching" {
		// A Server.* code, but a state conflict that no retry fixes: answer
		// 400 so clients (which retry 5xx) report it at once. The real
		// status is not documented.
		return nil, clientErr(CodeVolumeAlreadyAttached, "The volume '%s' is already attached to the instance '%s'.", v.VolumeID, a.InstanceID)
	}
	if v.Op != "" {
		return nil, errProcessing(v)
	}
	if e := instanceUsable(in); e != nil {
		return nil, e
	}
	if in.Zone != v.Zone {
		return nil, clientErr(CodeInvalidParameterValue+".InstanceId", "The instance '%s' is in zone %s but the volume '%s' is in %s.", in.InstanceID, in.Zone, v.VolumeID, v.Zone)
	}
	if e := s.attachLocked(v, in, opAttach, now); e != nil {
		return nil, e
	}
	v.Status = "in-use"
	return attachmentResult(v), nil
}

func (s *Sim) detachVolume(p params, now time.Time) (*node, *apiError) {
	v, e := s.volumeFromParams(p)
	if e != nil {
		return nil, e
	}
	in, e := s.instanceFromParams(p, true)
	if e != nil {
		return nil, e
	}
	agree, _, e := p.optBool("Agreement")
	if e != nil {
		return nil, e
	}
	if !agree {
		return nil, clientErr(CodeAgreementRequired, "Detaching a disk requires Agreement=true.")
	}
	a := v.Attachment
	if a == nil || a.InstanceID != in.InstanceID {
		return nil, clientErr(CodeVolumeDetached, "The volume '%s' is not attached to the instance '%s'.", v.VolumeID, in.InstanceID)
	}
	if v.Op != "" {
		return nil, errProcessing(v)
	}
	a.Status = "detaching"
	v.Op = opDetach
	v.ReadyAt = now.Add(s.controls.TransitionDelay("volume.detach"))
	return attachmentResult(v), nil
}

func (s *Sim) deleteVolume(p params, _ time.Time) (*node, *apiError) {
	v, e := s.volumeFromParams(p)
	if e != nil {
		return nil, e
	}
	if v.Op != "" {
		return nil, errProcessing(v)
	}
	if v.Attachment != nil {
		return nil, clientErr(CodeVolumeInUse, "The volume '%s' is attached to the instance '%s'; detach it first.", v.VolumeID, v.Attachment.InstanceID)
	}
	delete(s.st.Volumes, v.VolumeID)
	s.deleteLocalLocked(v.VolumeID)
	return group(tx("return", true)), nil
}

func (s *Sim) extendVolumeSize(p params, now time.Time) (*node, *apiError) {
	v, e := s.volumeFromParams(p)
	if e != nil {
		return nil, e
	}
	switch r := p.str("NiftyReboot"); r {
	case "", "force", "true", "false":
	default:
		return nil, errInvalid("NiftyReboot", r)
	}
	if v.Op != "" {
		return nil, errProcessing(v)
	}
	limit := maxVolumeGB
	if v.DiskType == "5" {
		limit = maxFlashGB
	}
	if v.Size+extendStepGB > limit {
		return nil, clientErr(CodeVolumeSizeLimit, "The volume '%s' is already %d GB; the maximum is %d GB.", v.VolumeID, v.Size, limit)
	}
	v.Op = opExtend
	v.ReadyAt = now.Add(s.controls.TransitionDelay("volume.extend"))
	if v.Attachment != nil {
		v.Attachment.Status = "attaching"
	}
	return group(tx("return", true)), nil
}
