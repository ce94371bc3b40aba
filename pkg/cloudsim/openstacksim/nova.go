package openstacksim

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

const novaPrefix = "/compute/v2.1"

func (s *Sim) novaRoutes(mux *http.ServeMux) {
	p := novaPrefix
	s.handle(mux, "GET /compute/{$}", svcNova, "nova.version_list", false, s.novaVersions)
	s.handle(mux, "GET "+p, svcNova, "nova.version_get", false, s.novaVersion)
	s.handle(mux, "GET "+p+"/{$}", svcNova, "nova.version_get", false, s.novaVersion)
	s.handle(mux, "GET "+p+"/servers", svcNova, "nova.server_list", true, s.serverList(false))
	s.handle(mux, "GET "+p+"/servers/detail", svcNova, "nova.server_list", true, s.serverList(true))
	s.handle(mux, "GET "+p+"/servers/{id}", svcNova, "nova.server_get", true, s.serverGet)
	s.handle(mux, "GET "+p+"/flavors", svcNova, "nova.flavor_list", true, s.flavorList)
	s.handle(mux, "GET "+p+"/flavors/detail", svcNova, "nova.flavor_list", true, s.flavorList)
	s.handle(mux, "GET "+p+"/flavors/{id}", svcNova, "nova.flavor_get", true, s.flavorGet)
	s.handle(mux, "POST "+p+"/servers/{id}/os-volume_attachments", svcNova, "nova.volume_attach", true, s.volumeAttach)
	s.handle(mux, "GET "+p+"/servers/{id}/os-volume_attachments", svcNova, "nova.volume_attachment_list", true, s.volumeAttachmentList)
	s.handle(mux, "GET "+p+"/servers/{id}/os-volume_attachments/{vol}", svcNova, "nova.volume_attachment_get", true, s.volumeAttachmentGet)
	s.handle(mux, "DELETE "+p+"/servers/{id}/os-volume_attachments/{vol}", svcNova, "nova.volume_detach", true, s.volumeDetach)
}

func novaVersionDoc(r *http.Request) M {
	return M{"id": "v2.1", "status": "CURRENT", "version": novaMaxVersion, "min_version": "2.1",
		"updated": "2013-07-23T11:33:21Z", "links": []M{{"rel": "self", "href": baseURL(r) + novaPrefix + "/"}}}
}

func (s *Sim) novaVersions(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusOK, M{"versions": []M{novaVersionDoc(r)}})
}

func (s *Sim) novaVersion(w http.ResponseWriter, r *http.Request, _ *Token) {
	simcore.WriteJSON(w, http.StatusOK, M{"version": novaVersionDoc(r)})
}

// novaAtLeast reports whether the request asked for compute microversion
// 2.minor or later.
func novaAtLeast(r *http.Request, minor int) bool {
	v := requestedMicroversion(r, "compute", "X-OpenStack-Nova-API-Version")
	if v == "latest" {
		return true
	}
	_, m, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(m)
	return ok && err == nil && n >= minor
}

func (s *Sim) serverViewLocked(r *http.Request, sv *Server, detail bool) M {
	link := baseURL(r) + novaPrefix + "/servers/" + sv.ID
	v := M{"id": sv.ID, "name": sv.Name, "links": []M{{"rel": "self", "href": link}, {"rel": "bookmark", "href": link}}}
	if !detail {
		return v
	}
	addrs := M{}
	for net, list := range s.serverAddressesLocked(sv) {
		var out []M
		for _, a := range list {
			out = append(out, M{"addr": a.Addr, "version": a.Version, "OS-EXT-IPS:type": a.Type,
				"OS-EXT-IPS-MAC:mac_addr": s.macForLocked(sv.ID, a.Addr)})
		}
		addrs[net] = out
	}
	flavor := M{"id": sv.FlavorID, "links": []M{{"rel": "bookmark", "href": baseURL(r) + novaPrefix + "/flavors/" + sv.FlavorID}}}
	if novaAtLeast(r, 47) {
		f := s.state.Flavors[sv.FlavorID]
		flavor = M{"original_name": sv.FlavorID, "vcpus": 0, "ram": 0, "disk": 0, "ephemeral": 0, "swap": 0, "extra_specs": M{}}
		if f != nil {
			flavor = M{"original_name": f.Name, "vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk, "ephemeral": 0, "swap": 0, "extra_specs": M{}}
		}
	}
	vols := []M{}
	for _, vol := range byCreated(s.state.Volumes, func(v *Volume) time.Time { return v.Created }, func(v *Volume) string { return v.ID }) {
		for _, a := range vol.Attachments {
			if a.ServerID == sv.ID {
				vols = append(vols, M{"id": vol.ID, "delete_on_termination": false})
			}
		}
	}
	vmState, power := "active", 1
	if sv.Status == "SHUTOFF" {
		vmState, power = "stopped", 4
	}
	for k, x := range (M{
		"status": sv.Status, "tenant_id": sv.ProjectID, "user_id": s.users[0].ID,
		"created": sv.Created.Format(timeNova), "updated": sv.Updated.Format(timeNova),
		"hostId": stableID("host", sv.AZ), "OS-EXT-AZ:availability_zone": sv.AZ,
		"accessIPv4": sv.AccessIPv4, "accessIPv6": sv.AccessIPv6, "metadata": strmap(sv.Metadata),
		"addresses": addrs, "flavor": flavor, "image": "", "key_name": nil, "progress": 0,
		"config_drive": "", "os-extended-volumes:volumes_attached": vols,
		"OS-EXT-STS:vm_state": vmState, "OS-EXT-STS:power_state": power, "OS-EXT-STS:task_state": nil,
		"OS-DCF:diskConfig": "MANUAL", "security_groups": []M{{"name": "default"}},
	}) {
		v[k] = x
	}
	return v
}

func (s *Sim) macForLocked(serverID, addr string) string {
	for _, p := range s.state.Ports {
		if p.DeviceID != serverID {
			continue
		}
		for _, ip := range p.FixedIPs {
			if ip.IPAddress == addr {
				return p.MACAddress
			}
		}
	}
	return ""
}

func (s *Sim) serverList(detail bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		var re *regexp.Regexp
		if n := r.URL.Query().Get("name"); n != "" {
			var err error
			if re, err = regexp.Compile(n); err != nil {
				s.fail(w, svcNova, http.StatusBadRequest, "Invalid name filter: "+err.Error())
				return
			}
		}
		var views []M
		s.read(func() {
			for _, sv := range byCreated(s.state.Servers, func(v *Server) time.Time { return v.Created }, func(v *Server) string { return v.ID }) {
				if re != nil && !re.MatchString(sv.Name) {
					continue
				}
				if st := r.URL.Query().Get("status"); st != "" && !strings.EqualFold(st, sv.Status) {
					continue
				}
				views = append(views, s.serverViewLocked(r, sv, detail))
			}
		})
		s.writeList(w, r, svcNova, views, listOpts{key: "servers", skip: map[string]bool{"name": true, "status": true}})
	}
}

func (s *Sim) serverGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var v M
	s.read(func() {
		if sv := s.state.Servers[r.PathValue("id")]; sv != nil {
			v = s.serverViewLocked(r, sv, true)
		}
	})
	if v == nil {
		s.fail(w, svcNova, http.StatusNotFound, "Instance "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"server": v})
}

func flavorView(r *http.Request, f *Flavor) M {
	return M{"id": f.ID, "name": f.Name, "vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk, "swap": "",
		"OS-FLV-EXT-DATA:ephemeral": 0, "os-flavor-access:is_public": true, "rxtx_factor": 1.0,
		"OS-FLV-DISABLED:disabled": false, "description": nil, "extra_specs": M{},
		"links": []M{{"rel": "self", "href": baseURL(r) + novaPrefix + "/flavors/" + f.ID}}}
}

func (s *Sim) flavorList(w http.ResponseWriter, r *http.Request, _ *Token) {
	var views []M
	s.read(func() {
		for _, id := range sortedKeys(s.state.Flavors) {
			views = append(views, flavorView(r, s.state.Flavors[id]))
		}
	})
	s.writeList(w, r, svcNova, views, listOpts{key: "flavors"})
}

func (s *Sim) flavorGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var v M
	s.read(func() {
		if f := s.state.Flavors[r.PathValue("id")]; f != nil {
			v = flavorView(r, f)
		}
	})
	if v == nil {
		s.fail(w, svcNova, http.StatusNotFound, "Flavor "+r.PathValue("id")+" could not be found.")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"flavor": v})
}

func attachmentView(v *Volume, a VolumeAttachment) M {
	return M{"id": v.ID, "volumeId": v.ID, "serverId": a.ServerID, "device": a.Device,
		"tag": nil, "delete_on_termination": false}
}

func (s *Sim) volumeAttach(w http.ResponseWriter, r *http.Request, _ *Token) {
	var req struct {
		VolumeAttachment struct {
			VolumeID string `json:"volumeId"`
			Device   string `json:"device"`
		} `json:"volumeAttachment"`
	}
	if err := decode(r, &req); err != nil {
		s.fail(w, svcNova, http.StatusBadRequest, err.Error())
		return
	}
	serverID, volID := r.PathValue("id"), req.VolumeAttachment.VolumeID
	code, msg := 0, ""
	var out M
	s.mutate(func() {
		sv := s.state.Servers[serverID]
		vol := s.state.Volumes[volID]
		switch {
		case sv == nil:
			code, msg = 404, "Instance "+serverID+" could not be found."
		case volID == "":
			code, msg = 400, "Invalid input for field/attribute volumeAttachment: 'volumeId' is a required property"
		case vol == nil:
			code, msg = 404, "Volume "+volID+" could not be found."
		case vol.Multiattach && !novaAtLeast(r, 60):
			code, msg = 400, "Multiattach volumes are only supported starting with compute API version 2.60."
		case vol.Status != "available" && (!vol.Multiattach || vol.Status != "in-use"):
			code, msg = 400, "Invalid volume: volume "+volID+" status must be 'available'. Currently in '"+vol.Status+"'"
		}
		if code != 0 {
			return
		}
		for _, a := range vol.Attachments {
			if a.ServerID == serverID {
				code, msg = 409, "Volume "+volID+" is already attached to server "+serverID
				return
			}
		}
		a := VolumeAttachment{ID: newUUID(), ServerID: serverID, Device: s.nextDeviceLocked(serverID), AttachedAt: s.now()}
		vol.Attachments = append(vol.Attachments, a)
		vol.Status, vol.Updated = "attaching", s.now()
		vol.Pending = &Transition{To: "in-use", At: s.after("volume.attach")}
		out = attachmentView(vol, a)
	})
	if code != 0 {
		s.fail(w, svcNova, code, msg)
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volumeAttachment": out})
}

// nextDeviceLocked is the first free /dev/vdX of the server (vda is root).
func (s *Sim) nextDeviceLocked(serverID string) string {
	used := map[string]bool{}
	for _, v := range s.state.Volumes {
		for _, a := range v.Attachments {
			if a.ServerID == serverID {
				used[a.Device] = true
			}
		}
	}
	for c := 'b'; c <= 'z'; c++ {
		if d := "/dev/vd" + string(c); !used[d] {
			return d
		}
	}
	return "/dev/vdz" + strconv.Itoa(len(used))
}

func (s *Sim) volumeAttachmentList(w http.ResponseWriter, r *http.Request, _ *Token) {
	serverID := r.PathValue("id")
	found := false
	var views []M
	s.read(func() {
		if s.state.Servers[serverID] == nil {
			return
		}
		found = true
		for _, v := range byCreated(s.state.Volumes, func(v *Volume) time.Time { return v.Created }, func(v *Volume) string { return v.ID }) {
			for _, a := range v.Attachments {
				if a.ServerID == serverID {
					views = append(views, attachmentView(v, a))
				}
			}
		}
	})
	if !found {
		s.fail(w, svcNova, http.StatusNotFound, "Instance "+serverID+" could not be found.")
		return
	}
	if views == nil {
		views = []M{}
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volumeAttachments": views})
}

func (s *Sim) volumeAttachmentGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	var out M
	s.read(func() {
		if v := s.state.Volumes[r.PathValue("vol")]; v != nil {
			for _, a := range v.Attachments {
				if a.ServerID == r.PathValue("id") {
					out = attachmentView(v, a)
				}
			}
		}
	})
	if out == nil {
		s.fail(w, svcNova, http.StatusNotFound, "Volume "+r.PathValue("vol")+" is not attached to "+r.PathValue("id"))
		return
	}
	simcore.WriteJSON(w, http.StatusOK, M{"volumeAttachment": out})
}

func (s *Sim) volumeDetach(w http.ResponseWriter, r *http.Request, _ *Token) {
	serverID, volID := r.PathValue("id"), r.PathValue("vol")
	code, msg := 0, ""
	s.mutate(func() {
		if s.state.Servers[serverID] == nil {
			code, msg = 404, "Instance "+serverID+" could not be found."
			return
		}
		vol := s.state.Volumes[volID]
		attached := false
		if vol != nil {
			for _, a := range vol.Attachments {
				attached = attached || a.ServerID == serverID
			}
		}
		switch {
		case !attached:
			code, msg = 404, "Volume "+volID+" is not attached to "+serverID
		case vol.Status != "in-use":
			code, msg = 400, "Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach. Currently in '"+vol.Status+"'"
		default:
			vol.Status, vol.Updated = "detaching", s.now()
			vol.Pending = &Transition{To: "available", At: s.after("volume.detach")}
		}
	})
	if code != 0 {
		s.fail(w, svcNova, code, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
