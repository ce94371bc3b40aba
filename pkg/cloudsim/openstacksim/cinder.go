package openstacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

const cinderPrefix = "/volume/v3/{project}"

func (s *Sim) cinderRoutes(mux *http.ServeMux) {
	p := cinderPrefix
	s.handle(mux, "GET /volume/{$}", svcCinder, "cinder.version_list", false, s.cinderVersions)
	s.handle(mux, "GET /volume/v3", svcCinder, "cinder.version_get", false, s.cinderVersion)
	s.handle(mux, "GET /volume/v3/{$}", svcCinder, "cinder.version_get", false, s.cinderVersion)
	s.handle(mux, "POST "+p+"/volumes", svcCinder, "cinder.volume_create", true, s.volumeCreate)
	s.handle(mux, "GET "+p+"/volumes", svcCinder, "cinder.volume_list", true, s.volumeList(false))
	s.handle(mux, "GET "+p+"/volumes/detail", svcCinder, "cinder.volume_list", true, s.volumeList(true))
	s.handle(mux, "GET "+p+"/volumes/{id}", svcCinder, "cinder.volume_get", true, s.volumeGet)
	s.handle(mux, "PUT "+p+"/volumes/{id}", svcCinder, "cinder.volume_update", true, s.volumeUpdate)
	s.handle(mux, "DELETE "+p+"/volumes/{id}", svcCinder, "cinder.volume_delete", true, s.volumeDelete)
	s.handle(mux, "POST "+p+"/volumes/{id}/action", svcCinder, "", true, s.volumeAction)
	s.handle(mux, "GET "+p+"/os-availability-zone", svcCinder, "cinder.availability_zone_list", true, s.cinderZoneList)
}

func cinderVersionDoc(r *http.Request) M {
	return M{"id": "v3.0", "status": "CURRENT", "version": fmt.Sprintf("3.%d", cinderMaxVersion),
		"min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
		"links": []M{{"rel": "self", "href": baseURL(r) + "/volume/v3/"}}}
}

func (s *Sim) cinderVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusMultipleChoices, M{"versions": []M{cinderVersionDoc(r)}})
}

func (s *Sim) cinderVersion(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusOK, M{"versions": []M{cinderVersionDoc(r)}})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func volumeView(r *http.Request, v *Volume) M {
	atts := []M{}
	if v.Status != "attaching" {
		for _, a := range v.Attachments {
			atts = append(atts, M{"id": v.ID, "attachment_id": a.ID, "volume_id": v.ID, "server_id": a.ServerID,
				"host_name": nil, "device": a.Device, "attached_at": a.AttachedAt.Format(timeCinder)})
		}
	}
	link := baseURL(r) + "/volume/v3/" + v.ProjectID + "/volumes/" + v.ID
	return M{
		"id": v.ID, "name": v.Name, "description": v.Description, "size": v.Size, "status": v.Status,
		"availability_zone": v.AZ, "volume_type": v.VolumeType, "snapshot_id": nullable(v.SnapshotID),
		"source_volid": nullable(v.SourceVolID), "backup_id": nullable(v.BackupID), "metadata": strmap(v.Metadata),
		"attachments": atts, "multiattach": v.Multiattach, "bootable": "false", "encrypted": false,
		"created_at": v.Created.Format(timeCinder), "updated_at": v.Updated.Format(timeCinder),
		"user_id": stableID("user", "volume-owner"), "os-vol-tenant-attr:tenant_id": v.ProjectID,
		"os-vol-host-attr:host": "cinder@lvm#lvm", "replication_status": "disabled",
		"consistencygroup_id": nil, "migration_status": nil, "group_id": nil, "shared_targets": false,
		"links": []M{{"rel": "self", "href": link}, {"rel": "bookmark", "href": link}},
	}
}

// usedGBLocked is the quota usage: volumes plus snapshots.
func (s *Sim) usedGBLocked() int {
	n := 0
	for _, v := range s.state.Volumes {
		n += v.Size
	}
	for _, sn := range s.state.Snapshots {
		n += sn.Size
	}
	return n
}

// quotaExceededLocked reports whether adding gb would exceed the quota.
func (s *Sim) quotaExceededLocked(gb int) bool {
	q := s.quotaGBLocked()
	return q > 0 && s.usedGBLocked()+gb > q
}

func (s *Sim) quotaMessageLocked(gb int) string {
	return fmt.Sprintf("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.",
		gb, s.quotaGBLocked(), s.usedGBLocked())
}

func (s *Sim) volumeCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		Volume struct {
			Size        int               `json:"size"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			VolumeType  string            `json:"volume_type"`
			AZ          string            `json:"availability_zone"`
			SnapshotID  string            `json:"snapshot_id"`
			SourceVolID string            `json:"source_volid"`
			BackupID    string            `json:"backup_id"`
			Metadata    map[string]string `json:"metadata"`
			Multiattach bool              `json:"multiattach"`
		} `json:"volume"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Volume
	_, minor := cinderMicroversion(r)
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		// Cinder resolves the type (by name or ID) before anything else.
		vtype := s.volumeTypeLocked(orDefault(in.VolumeType, DefaultVolumeType))
		if vtype == nil {
			code, msg = 404, volumeTypeNotFound(in.VolumeType)
			return
		}
		size := in.Size
		if minor < volumeFromBackupMinor {
			in.BackupID = "" // ignored before 3.47, as by Cinder
		}
		switch {
		case in.BackupID != "":
			if size, code, msg = s.restoreSourceLocked(in.BackupID, size); code != 0 {
				return
			}
		case in.SnapshotID != "":
			sn := s.state.Snapshots[in.SnapshotID]
			if sn == nil {
				code, msg = 404, "Snapshot "+in.SnapshotID+" could not be found."
				return
			}
			if sn.Status != "available" {
				code, msg = 400, "Invalid snapshot: Originating snapshot status must be one of 'available' values"
				return
			}
			if size == 0 {
				size = sn.Size
			}
			if size < sn.Size {
				code, msg = 400, fmt.Sprintf("Invalid input received: Volume size '%d'GB cannot be smaller than the snapshot size %dGB. They must be >= original snapshot size.", size, sn.Size)
				return
			}
		case in.SourceVolID != "":
			src := s.state.Volumes[in.SourceVolID]
			if src == nil {
				code, msg = 404, "Volume "+in.SourceVolID+" could not be found."
				return
			}
			if src.Status != "available" && src.Status != "in-use" {
				code, msg = 400, "Invalid volume: Volume "+src.ID+" status must be available or in-use, but current status is: "+src.Status
				return
			}
			if size == 0 {
				size = src.Size
			}
			if size < src.Size {
				code, msg = 400, fmt.Sprintf("Invalid input received: Volume size '%d'GB cannot be smaller than original volume size %dGB. They must be >= original volume size.", size, src.Size)
				return
			}
		}
		if size < 1 {
			code, msg = 400, "Invalid input received: size must be an integer (and >= 1)"
			return
		}
		if in.AZ != "" && !s.knownAZLocked(in.AZ) {
			code, msg = 400, "Invalid input received: Availability zone '"+in.AZ+"' is invalid."
			return
		}
		// cloned_volume_same_az (default True): a clone or a restore
		// without an availability zone takes its source's, another one is
		// refused; anything else without one lands in the default zone.
		az := in.AZ
		srcAZ, what := s.sourceAZLocked(in.SnapshotID, in.SourceVolID)
		switch {
		case az == "" && srcAZ != "":
			az = srcAZ
		case az == "":
			az = s.defaultAZLocked()
		case srcAZ != "" && az != srcAZ:
			code, msg = 400, "Invalid input received: Volume must be in the same availability zone as the "+what
			return
		}
		if s.quotaExceededLocked(size) {
			code, msg = 413, s.quotaMessageLocked(size)
			return
		}
		now := s.now()
		v := &Volume{ID: newUUID(), Name: in.Name, Description: in.Description, Size: size, Status: "creating",
			AZ: az, VolumeType: vtype.Name, SnapshotID: in.SnapshotID, SourceVolID: in.SourceVolID,
			Metadata: in.Metadata, Multiattach: in.Multiattach, ProjectID: tok.ProjectID, Created: now, Updated: now,
			Pending: &Transition{To: "available", At: s.after("volume.create")}}
		s.state.Volumes[v.ID] = v
		switch {
		case in.SnapshotID != "":
			s.copyLocalLocked(snapshotDataID(in.SnapshotID), v.ID)
		case in.SourceVolID != "":
			s.copyLocalLocked(in.SourceVolID, v.ID)
		case in.BackupID != "":
			s.startRestoreLocked(v, in.BackupID)
		}
		out = volumeView(r, v)
		out["status"] = "creating" // a restore starts as any create
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusAccepted, M{"volume": out})
}

// sourceAZLocked returns the availability zone of a create's source, as
// Cinder's _extract_availability_zones sees it: for a snapshot the zone of
// the snapshot's volume, for a clone the source volume's zone ("" when
// there is no source or the snapshot's volume is gone), and what the source
// is for the error message.
func (s *Sim) sourceAZLocked(snapshotID, sourceVolID string) (az, what string) {
	switch {
	case snapshotID != "":
		if sn := s.state.Snapshots[snapshotID]; sn != nil {
			if v := s.state.Volumes[sn.VolumeID]; v != nil {
				return v.AZ, "snapshot"
			}
		}
	case sourceVolID != "":
		if v := s.state.Volumes[sourceVolID]; v != nil {
			return v.AZ, "source volume"
		}
	}
	return "", ""
}

func (s *Sim) volumeList(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		var views []M
		s.read(func() {
			for _, v := range byCreated(s.state.Volumes, func(v *Volume) time.Time { return v.Created }, func(v *Volume) string { return v.ID }) {
				views = append(views, volumeView(r, v))
			}
		})
		if !detail {
			views = briefViews(views, r)
		}
		s.writeList(w, r, svcCinder, views, listOpts{key: "volumes", markerKind: "Volume"})
	}
}

// briefViews filters detailed views by the query first, then trims them to
// id/name/links, so filters on detail-only fields still work.
func briefViews(views []M, r *http.Request) []M {
	q := r.URL.Query()
	var out []M
	for _, v := range views {
		if matchQuery(v, q, nil) {
			out = append(out, M{"id": v["id"], "name": v["name"], "links": v["links"]})
		}
	}
	return out
}

func (s *Sim) volumeGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if v := s.state.Volumes[r.PathValue("id")]; v != nil {
			out = volumeView(r, v)
		}
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Volume "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volume": out})
}

func (s *Sim) volumeUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Volume struct {
			Name        *string           `json:"name"`
			Description *string           `json:"description"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"volume"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	var out M
	s.mutate(func() {
		v := s.state.Volumes[r.PathValue("id")]
		if v == nil {
			return
		}
		if req.Volume.Name != nil {
			v.Name = *req.Volume.Name
		}
		if req.Volume.Description != nil {
			v.Description = *req.Volume.Description
		}
		if req.Volume.Metadata != nil {
			v.Metadata = req.Volume.Metadata
		}
		v.Updated = s.now()
		out = volumeView(r, v)
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Volume "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volume": out})
}

var deletableVolume = map[string]bool{"available": true, "error": true, "error_restoring": true,
	"error_extending": true, "error_managing": true}

func (s *Sim) volumeDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	cascade := r.URL.Query().Get("cascade") == "true" || r.URL.Query().Get("cascade") == "True"
	code, msg := 0, ""
	s.mutate(func() {
		v := s.state.Volumes[id]
		if v == nil {
			code, msg = 404, "Volume "+id+" could not be found."
			return
		}
		var snaps []string
		for sid, sn := range s.state.Snapshots {
			if sn.VolumeID == id {
				snaps = append(snaps, sid)
			}
		}
		if !deletableVolume[v.Status] || len(v.Attachments) > 0 || (len(snaps) > 0 && !cascade) || s.backupBusyLocked(id) {
			code, msg = 400, "Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer. (status: "+v.Status+")"
			return
		}
		for _, sid := range snaps {
			delete(s.state.Snapshots, sid)
		}
		v.Status, v.Updated = "deleting", s.now()
		v.Pending = &Transition{To: "deleted", At: s.after("volume.delete")}
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) volumeAction(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req map[string]json.RawMessage
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	if raw, ok := req["os-retype"]; ok && len(req) == 1 {
		s.volumeRetype(w, r, raw)
		return
	}
	raw, ok := req["os-extend"]
	if !ok || len(req) != 1 {
		if s.begin(w, r, svcCinder, "cinder.volume_action") {
			s.fail(w, svcCinder, http.StatusBadRequest, "unsupported volume action")
		}
		return
	}
	if !s.begin(w, r, svcCinder, "cinder.volume_extend") {
		return
	}
	var ext struct {
		NewSize int `json:"new_size"`
	}
	if err := json.Unmarshal(raw, &ext); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, "Invalid input for field/attribute os-extend: "+err.Error())
		return
	}
	_, minor := cinderMicroversion(r)
	code, msg := 0, ""
	s.mutate(func() {
		v := s.state.Volumes[r.PathValue("id")]
		switch {
		case v == nil:
			code, msg = 404, "Volume "+r.PathValue("id")+" could not be found."
		case v.Status == "in-use" && minor < 42:
			code, msg = 400, "Invalid volume: Volume status must be 'available' to extend (in-use extend requires microversion 3.42)."
		case v.Status != "available" && v.Status != "in-use":
			code, msg = 400, "Invalid volume: Volume status must be 'available' or 'in-use' to extend, currently "+v.Status+"."
		case ext.NewSize <= v.Size:
			code, msg = 400, fmt.Sprintf("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, ext.NewSize)
		case s.quotaExceededLocked(ext.NewSize - v.Size):
			code, msg = 413, s.quotaMessageLocked(ext.NewSize-v.Size)
		default:
			v.Pending = &Transition{To: v.Status, Size: ext.NewSize, At: s.after("volume.extend")}
			v.Status, v.Updated = "extending", s.now()
		}
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
