package openstacksim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// metadataVersions are the OpenStack metadata versions announced.
var metadataVersions = []string{"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest"}

func (s *Sim) metadataRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /openstack", svcMetadata, "metadata.version_list", false, s.metadataVersionList)
	s.handle(mux, "GET /openstack/{$}", svcMetadata, "metadata.version_list", false, s.metadataVersionList)
	s.handle(mux, "GET /openstack/{version}/meta_data.json", svcMetadata, "metadata.get", false, s.metadataGet)
}

func (s *Sim) metadataVersionList(w http.ResponseWriter, r *http.Request, _ *Token) {
	w.Header().Set("Content-Type", "text/plain")
	// A failed write means the client went away; there is nobody to tell.
	_, _ = fmt.Fprint(w, strings.Join(metadataVersions, "\n"))
}

func (s *Sim) metadataGet(w http.ResponseWriter, r *http.Request, _ *Token) {
	if !contains(metadataVersions, r.PathValue("version")) {
		s.fail(w, svcMetadata, http.StatusNotFound, "unknown metadata version")
		return
	}
	var out M
	s.read(func() {
		if sv := s.state.Servers[s.state.MetadataServer]; sv != nil {
			out = s.metadataLocked(sv)
		}
	})
	if out == nil {
		s.fail(w, svcMetadata, http.StatusNotFound, "no metadata server set")
		return
	}
	simcore.WriteJSON(w, http.StatusOK, out)
}

// hostname is the DNS-safe form of a server name, as Nova derives it.
func hostname(name string) string {
	h := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name)
	return strings.Trim(h, "-.")
}

// metadataLocked is meta_data.json of a server: identity plus one disk
// device per attached volume (serial = volume ID).
func (s *Sim) metadataLocked(sv *Server) M {
	devices := []M{}
	vols := byCreated(s.state.Volumes, func(v *Volume) time.Time { return v.Created }, func(v *Volume) string { return v.ID })
	for _, v := range vols {
		if v.Status == "attaching" {
			continue
		}
		for _, a := range v.Attachments {
			if a.ServerID != sv.ID {
				continue
			}
			slot := 5 + strings.IndexByte("bcdefghijklmnopqrstuvwxyz", a.Device[len(a.Device)-1])
			devices = append(devices, M{"type": "disk", "bus": "virtio", "serial": v.ID,
				"address": fmt.Sprintf("0000:00:%02x.0", slot), "path": a.Device, "tags": []string{}})
		}
	}
	return M{
		"uuid": sv.ID, "name": sv.Name, "availability_zone": sv.AZ, "hostname": hostname(sv.Name),
		"launch_index": 0, "project_id": sv.ProjectID, "meta": strmap(sv.Metadata),
		"public_keys": M{}, "keys": []M{}, "devices": devices, "dedicated_cpus": []int{},
	}
}

// WriteConfigDrive writes <dir>/openstack/latest/meta_data.json as a config
// drive of serverID would contain it.
func (s *Sim) WriteConfigDrive(dir, serverID string) error {
	var md M
	s.read(func() {
		if sv := s.state.Servers[serverID]; sv != nil {
			md = s.metadataLocked(sv)
		}
	})
	if md == nil {
		return fmt.Errorf("openstacksim: server %s not found", serverID)
	}
	data, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, "openstack", "latest")
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p, "meta_data.json"), data, 0o644)
}
