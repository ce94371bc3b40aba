package openstacksim

// Cinder backups (cinder/api/contrib/backups.py and the v3 additions):
// create (202, the summary view), show, brief and detailed lists with
// backups_links paging, delete (202), and the restore of a backup into a
// new volume (POST /volumes with backup_id, microversion 3.47). Backups are
// full copies: their data outlives the snapshot or volume they came from.

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// VolumeBackup is a Cinder backup.
type VolumeBackup struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VolumeID    string            `json:"volume_id"`
	SnapshotID  string            `json:"snapshot_id"`
	Size        int               `json:"size"`
	Status      string            `json:"status"`
	AZ          string            `json:"availability_zone"`
	Container   string            `json:"container"`
	Incremental bool              `json:"incremental"`
	FailReason  string            `json:"fail_reason"`
	Metadata    map[string]string `json:"metadata"`
	ProjectID   string            `json:"project_id"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
	// DataTimestamp is when the data was taken: the snapshot's creation for
	// a backup of a snapshot, else the backup's.
	DataTimestamp time.Time   `json:"data_timestamp"`
	Pending       *Transition `json:"pending,omitempty"`
}

// Microversions that change the backups API.
const (
	backupMetadataMinor     = 43 // metadata in requests and views
	backupAZMinor           = 51 // availability_zone in requests
	volumeFromBackupMinor   = 47 // POST /volumes honours backup_id
	backupProjectAttrMinor  = 18 // os-backup-project-attr:project_id
	defaultBackupContainer  = "volumebackups"
	backupServiceNotFound   = "Service cinder-backup could not be found."
	backupStatusForDeletion = "Invalid backup: Backup status must be available or error"
)

// backupDataID is the local data of a backup.
func backupDataID(backupID string) string { return "backup-" + backupID }

// SetBackupFailure makes every backup created from now on end in status
// "error" with reason as its fail_reason ("" = backups succeed again), the
// way a broken backup driver or an unreachable object store shows.
func (s *Sim) SetBackupFailure(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backupFailure = reason
}

func (s *Sim) cinderBackupRoutes(mux *http.ServeMux) {
	p := cinderPrefix
	s.handle(mux, "POST "+p+"/backups", svcCinder, "cinder.backup_create", true, s.backupCreate)
	s.handle(mux, "GET "+p+"/backups", svcCinder, "cinder.backup_list", true, s.backupList(false))
	s.handle(mux, "GET "+p+"/backups/detail", svcCinder, "cinder.backup_list", true, s.backupList(true))
	s.handle(mux, "GET "+p+"/backups/{id}", svcCinder, "cinder.backup_get", true, s.backupGet)
	s.handle(mux, "DELETE "+p+"/backups/{id}", svcCinder, "cinder.backup_delete", true, s.backupDelete)
}

func backupLink(r *http.Request, b *VolumeBackup) []M {
	self := baseURL(r) + "/volume/v3/" + b.ProjectID + "/backups/" + b.ID
	return []M{{"rel": "self", "href": self}, {"rel": "bookmark", "href": self}}
}

// backupSummary is the create answer and the brief list entry.
func backupSummary(r *http.Request, b *VolumeBackup) M {
	return M{"id": b.ID, "name": b.Name, "links": backupLink(r, b)}
}

// backupView is the detailed view at the request's microversion.
func backupView(r *http.Request, b *VolumeBackup) M {
	_, minor := cinderMicroversion(r)
	objects := 0 // chunks written so far
	if b.Status == "available" {
		objects = b.Size * 20
	}
	v := M{
		"id": b.ID, "name": b.Name, "description": nullable(b.Description), "status": b.Status,
		"size": b.Size, "object_count": objects,
		"availability_zone": b.AZ, "container": b.Container, "volume_id": b.VolumeID,
		"snapshot_id": nullable(b.SnapshotID), "fail_reason": nullable(b.FailReason),
		"is_incremental": b.Incremental, "has_dependent_backups": false,
		"created_at": b.Created.Format(timeCinder), "updated_at": b.Updated.Format(timeCinder),
		"data_timestamp": b.DataTimestamp.Format(timeCinder), "links": backupLink(r, b),
	}
	if minor >= backupProjectAttrMinor {
		v["os-backup-project-attr:project_id"] = b.ProjectID
	}
	if minor >= backupMetadataMinor {
		v["metadata"] = strmap(b.Metadata)
	}
	return v
}

func (s *Sim) backupCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		Backup *struct {
			VolumeID    string            `json:"volume_id"`
			SnapshotID  string            `json:"snapshot_id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Container   string            `json:"container"`
			Incremental bool              `json:"incremental"`
			Force       bool              `json:"force"`
			AZ          string            `json:"availability_zone"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"backup"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	if req.Backup == nil || req.Backup.VolumeID == "" {
		s.fail(w, svcCinder, http.StatusBadRequest, "Invalid input for field/attribute backup. 'volume_id' is a required property")
		return
	}
	in := *req.Backup
	_, minor := cinderMicroversion(r)
	if minor < backupMetadataMinor {
		in.Metadata = nil
	}
	if minor < backupAZMinor {
		in.AZ = ""
	}
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		v := s.state.Volumes[in.VolumeID]
		if v == nil {
			code, msg = 404, "Volume "+in.VolumeID+" could not be found."
			return
		}
		var sn *VolumeSnapshot
		if in.SnapshotID != "" {
			if sn = s.state.Snapshots[in.SnapshotID]; sn == nil {
				code, msg = 404, "Snapshot "+in.SnapshotID+" could not be found."
				return
			}
		}
		switch {
		case sn != nil && sn.VolumeID != v.ID:
			code, msg = 400, "Invalid volume: Volume "+v.ID+" does not match with snapshot.volume_id "+sn.VolumeID+"."
		case v.Status != "available" && v.Status != "in-use":
			code, msg = 400, "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \""+v.Status+"\"."
		case sn == nil && v.Status == "in-use" && !in.Force:
			code, msg = 400, "Invalid volume: Backing up an in-use volume must use the force flag."
		case sn != nil && sn.Status != "available":
			code, msg = 400, "Invalid snapshot: Snapshot to be backed up must be available, but the current status is \""+sn.Status+"\"."
		}
		if code != 0 {
			return
		}
		// The backup service's zone defaults to the volume's; without a
		// cinder-backup service there (or at all) Cinder answers 503.
		az := orDefault(in.AZ, v.AZ)
		if s.opts.NoBackupService || !s.knownAZLocked(az) {
			code, msg = 503, backupServiceNotFound
			return
		}
		now := s.now()
		b := &VolumeBackup{ID: newUUID(), Name: in.Name, Description: in.Description, VolumeID: v.ID,
			SnapshotID: in.SnapshotID, Size: v.Size, Status: "creating", AZ: az,
			Container: orDefault(in.Container, defaultBackupContainer), Incremental: in.Incremental,
			Metadata: in.Metadata, ProjectID: tok.ProjectID, Created: now, Updated: now, DataTimestamp: now}
		done := &Transition{To: "available", At: s.after("backup.create")}
		if s.backupFailure != "" {
			done.To, b.FailReason = "error", s.backupFailure
		}
		b.Pending = done
		// The source is busy while the backup reads it.
		from := v.ID
		if sn != nil {
			b.Size, b.DataTimestamp, from = sn.Size, sn.Created, snapshotDataID(sn.ID)
			sn.Status, sn.Updated = "backing-up", now
			sn.Pending = &Transition{To: "available", At: done.At}
		} else {
			v.Pending = &Transition{To: v.Status, At: done.At}
			v.Status, v.Updated = "backing-up", now
		}
		s.state.Backups[b.ID] = b
		s.copyLocalLocked(from, backupDataID(b.ID))
		out = backupSummary(r, b)
	})
	if code == 503 {
		// Cinder's fault name for 503, which fail leaves to computeFault.
		simcore.WriteJSON(w, code, M{"serviceUnavailable": M{"code": code, "message": msg}})
		return
	}
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusAccepted, M{"backup": out})
}

func (s *Sim) backupGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if b := s.state.Backups[r.PathValue("id")]; b != nil {
			out = backupView(r, b)
		}
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Backup "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"backup": out})
}

// backupList filters by name, status and volume_id (the filters Cinder
// allows a project), sorts by created_at and id descending (Cinder's
// default) and pages by limit/offset/marker. The marker is looked up among
// all of the project's backups as Cinder's _backup_get does, so an unknown
// one is a 404 naming it.
func (s *Sim) backupList(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		q := r.URL.Query()
		marker := q.Get("marker")
		var views []M
		known := marker == ""
		s.read(func() {
			all := byCreated(s.state.Backups, func(b *VolumeBackup) time.Time { return b.Created }, func(b *VolumeBackup) string { return b.ID })
			after := marker == ""
			for i := len(all) - 1; i >= 0; i-- {
				b := all[i]
				if b.ID == marker {
					known, after = true, true
					continue
				}
				if !after || !matchBackup(b, q) {
					continue
				}
				if detail {
					views = append(views, backupView(r, b))
				} else {
					views = append(views, backupSummary(r, b))
				}
			}
		})
		if !known {
			s.fail(w, svcCinder, http.StatusNotFound, "Backup "+marker+" could not be found.")
			return
		}
		if off, err := strconv.Atoi(q.Get("offset")); err == nil && off > 0 {
			views = views[min(off, len(views)):]
		}
		links := []M{}
		if lim, err := strconv.Atoi(q.Get("limit")); err == nil && lim > 0 && len(views) > lim {
			views = views[:lim]
			nq := r.URL.Query()
			nq.Set("marker", views[lim-1]["id"].(string))
			nq.Del("offset")
			links = append(links, M{"rel": "next", "href": baseURL(r) + r.URL.Path + "?" + nq.Encode()})
		}
		if views == nil {
			views = []M{}
		}
		body := M{"backups": views}
		if len(links) > 0 {
			body["backups_links"] = links
		}
		simcore.WriteJSON(w, http.StatusOK, body)
	}
}

func matchBackup(b *VolumeBackup, q map[string][]string) bool {
	for key, field := range map[string]string{"name": b.Name, "volume_id": b.VolumeID, "status": b.Status} {
		if vals, ok := q[key]; ok && len(vals) > 0 && vals[0] != field {
			return false
		}
	}
	return true
}

func (s *Sim) backupDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	code, msg := 0, ""
	s.mutate(func() {
		b := s.state.Backups[id]
		switch {
		case b == nil:
			code, msg = 404, "Backup "+id+" could not be found."
		case b.Status != "available" && b.Status != "error":
			code, msg = 400, backupStatusForDeletion
		default:
			b.Status, b.Updated = "deleting", s.now()
			b.Pending = &Transition{To: "deleted", At: s.after("backup.delete")}
		}
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// settleBackupsLocked completes due backup transitions.
func (s *Sim) settleBackupsLocked(due func(*Transition) bool) bool {
	changed := false
	for _, id := range sortedKeys(s.state.Backups) {
		b := s.state.Backups[id]
		if !due(b.Pending) {
			continue
		}
		changed = true
		if b.Pending.To == "deleted" {
			delete(s.state.Backups, id)
			if s.opts.LocalDisks != nil {
				_ = s.opts.LocalDisks.Delete(backupDataID(id)) // nothing attached; best effort
			}
			continue
		}
		b.Status, b.Updated, b.Pending = b.Pending.To, b.Pending.At, nil
	}
	return changed
}

// backupBusyLocked reports a backup of the volume still being made: the
// volume (or its snapshot) is being read and cannot be deleted.
func (s *Sim) backupBusyLocked(volumeID string) bool {
	for _, b := range s.state.Backups {
		if b.VolumeID == volumeID && b.Status == "creating" {
			return true
		}
	}
	return false
}

// restoreSourceLocked checks the backup a volume is created from and
// returns the volume's size (the backup's when size is 0) or the error
// Cinder answers.
func (s *Sim) restoreSourceLocked(backupID string, size int) (int, int, string) {
	b := s.state.Backups[backupID]
	switch {
	case b == nil:
		return 0, 404, "Backup " + backupID + " could not be found."
	case b.Status != "available":
		return 0, 400, "Invalid backup: Backup status must be available but is " + b.Status + "."
	case size == 0:
		return b.Size, 0, ""
	case size < b.Size:
		return 0, 400, "Invalid input received: Volume size '" + strconv.Itoa(size) + "'GB cannot be smaller than the backup size " +
			strconv.Itoa(b.Size) + "GB. It must be >= backup size."
	}
	return size, 0, ""
}

// startRestoreLocked moves a new volume and its backup into the restore:
// the volume is "restoring-backup" and the backup "restoring" until the
// volume's transition completes; the backup's data is copied in.
func (s *Sim) startRestoreLocked(v *Volume, backupID string) {
	b := s.state.Backups[backupID]
	v.BackupID, v.Status = backupID, "restoring-backup"
	v.Pending.At = s.after("volume.restore")
	b.Status, b.Updated = "restoring", s.now()
	b.Pending = &Transition{To: "available", At: v.Pending.At}
	s.copyLocalLocked(backupDataID(backupID), v.ID)
}
