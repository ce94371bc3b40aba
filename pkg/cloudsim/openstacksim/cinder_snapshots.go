package openstacksim

import (
	"net/http"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

func (s *Sim) cinderSnapshotRoutes(mux *http.ServeMux) {
	p := cinderPrefix
	s.handle(mux, "POST "+p+"/snapshots", svcCinder, "cinder.snapshot_create", true, s.snapshotCreate)
	s.handle(mux, "GET "+p+"/snapshots", svcCinder, "cinder.snapshot_list", true, s.snapshotList)
	s.handle(mux, "GET "+p+"/snapshots/detail", svcCinder, "cinder.snapshot_list", true, s.snapshotList)
	s.handle(mux, "GET "+p+"/snapshots/{id}", svcCinder, "cinder.snapshot_get", true, s.snapshotGet)
	s.handle(mux, "PUT "+p+"/snapshots/{id}", svcCinder, "cinder.snapshot_update", true, s.snapshotUpdate)
	s.handle(mux, "DELETE "+p+"/snapshots/{id}", svcCinder, "cinder.snapshot_delete", true, s.snapshotDelete)
}

func snapshotView(r *http.Request, sn *VolumeSnapshot) M {
	progress := "100%"
	if sn.Status == "creating" {
		progress = "0%"
	}
	link := baseURL(r) + "/volume/v3/" + sn.ProjectID + "/snapshots/" + sn.ID
	return M{
		"id": sn.ID, "name": sn.Name, "description": sn.Description, "volume_id": sn.VolumeID,
		"status": sn.Status, "size": sn.Size, "metadata": strmap(sn.Metadata),
		"created_at": sn.Created.Format(timeCinder), "updated_at": sn.Updated.Format(timeCinder),
		"os-extended-snapshot-attributes:progress":   progress,
		"os-extended-snapshot-attributes:project_id": sn.ProjectID,
		"user_id": stableID("user", "volume-owner"), "group_snapshot_id": nil, "consumes_quota": true,
		"links": []M{{"rel": "self", "href": link}},
	}
}

func (s *Sim) snapshotCreate(w http.ResponseWriter, r *http.Request, tok *Token) {
	var req struct {
		Snapshot struct {
			VolumeID    string            `json:"volume_id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Force       bool              `json:"force"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"snapshot"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	in := req.Snapshot
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		v := s.state.Volumes[in.VolumeID]
		switch {
		case in.VolumeID == "":
			code, msg = 400, "Invalid input received: volume_id is required"
		case v == nil:
			code, msg = 404, "Volume "+in.VolumeID+" could not be found."
		case v.Status == "in-use" && !in.Force:
			code, msg = 400, "Invalid volume: Volume "+v.ID+" status must be available, but current status is: in-use."
		case v.Status != "available" && v.Status != "in-use":
			code, msg = 400, "Invalid volume: Volume "+v.ID+" status must be available, but current status is: "+v.Status+"."
		case s.quotaExceededLocked(v.Size):
			code, msg = 413, s.quotaMessageLocked(v.Size)
		}
		if code != 0 {
			return
		}
		now := s.now()
		sn := &VolumeSnapshot{ID: newUUID(), Name: in.Name, Description: in.Description, VolumeID: v.ID,
			Size: v.Size, Status: "creating", Metadata: in.Metadata, ProjectID: tok.ProjectID,
			Created: now, Updated: now, Pending: &Transition{To: "available", At: s.after("snapshot.create")}}
		s.state.Snapshots[sn.ID] = sn
		s.copyLocalLocked(v.ID, snapshotDataID(sn.ID))
		out = snapshotView(r, sn)
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusAccepted, M{"snapshot": out})
}

// snapshotList serves both lists: Cinder v3's brief snapshot list carries
// the same fields as the detailed one.
func (s *Sim) snapshotList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, sn := range byCreated(s.state.Snapshots, func(v *VolumeSnapshot) time.Time { return v.Created }, func(v *VolumeSnapshot) string { return v.ID }) {
			views = append(views, snapshotView(r, sn))
		}
	})
	s.writeList(w, r, svcCinder, views, listOpts{key: "snapshots", markerKind: "Snapshot"})
}

func (s *Sim) snapshotGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if sn := s.state.Snapshots[r.PathValue("id")]; sn != nil {
			out = snapshotView(r, sn)
		}
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Snapshot "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"snapshot": out})
}

func (s *Sim) snapshotUpdate(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		Snapshot struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"snapshot"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcCinder, http.StatusBadRequest, err.Error())
		return
	}
	var out M
	s.mutate(func() {
		sn := s.state.Snapshots[r.PathValue("id")]
		if sn == nil {
			return
		}
		if req.Snapshot.Name != nil {
			sn.Name = *req.Snapshot.Name
		}
		if req.Snapshot.Description != nil {
			sn.Description = *req.Snapshot.Description
		}
		sn.Updated = s.now()
		out = snapshotView(r, sn)
	})
	if out == nil {
		s.fail(w, svcCinder, http.StatusNotFound, "Snapshot "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"snapshot": out})
}

func (s *Sim) snapshotDelete(w http.ResponseWriter, r *http.Request, _ *Token) {
	id := r.PathValue("id")
	code, msg := 0, ""
	s.mutate(func() {
		sn := s.state.Snapshots[id]
		switch {
		case sn == nil:
			code, msg = 404, "Snapshot "+id+" could not be found."
		case sn.Status != "available" && sn.Status != "error":
			code, msg = 400, "Invalid snapshot: Snapshot status must be available or error and must not be part of a group. (status: "+sn.Status+")"
		default:
			sn.Status, sn.Updated = "deleting", s.now()
			sn.Pending = &Transition{To: "deleted", At: s.after("snapshot.delete")}
		}
	})
	if code != 0 {
		s.fail(w, svcCinder, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
