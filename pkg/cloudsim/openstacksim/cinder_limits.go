package openstacksim

import (
	"net/http"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// unlimited is Cinder's absolute limit value for "no limit".
const unlimited = -1

// quotaGBLocked is the project's gigabytes quota: the one set at run time
// (SetVolumeQuotaGB), else Options.VolumeQuotaGB; 0 = unlimited.
func (s *Sim) quotaGBLocked() int {
	if s.state.VolumeQuotaGB > 0 {
		return s.state.VolumeQuotaGB
	}
	return s.opts.VolumeQuotaGB
}

// SetVolumeQuotaGB sets the gigabytes quota at run time (0: back to
// Options.VolumeQuotaGB), as an operator's `openstack quota set` would.
func (s *Sim) SetVolumeQuotaGB(gb int) {
	s.mutate(func() { s.state.VolumeQuotaGB = gb })
}

func (s *Sim) cinderLimitRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET "+cinderPrefix+"/limits", svcCinder, "cinder.limits_get", true, s.limitsGet)
}

// limitsGet answers GET /v3/{project}/limits like Cinder's limits API:
// all ten absolute fields and an empty rate list (Cinder has no rate
// limits by default). Only the gigabytes quota is simulated
// (Options.VolumeQuotaGB, counting volumes and snapshots like Cinder's
// "gigabytes" quota); every other limit is -1, unlimited, which is what
// the simulator enforces. totalGigabytesUsed is the usage the quota check
// of creates and extends counts.
func (s *Sim) limitsGet(w http.ResponseWriter, _ *http.Request, tok *Token) {
	var abs M
	s.read(func() {
		maxGB := unlimited
		if q := s.quotaGBLocked(); q > 0 {
			maxGB = q
		}
		vols, snaps, backups, backupGB := 0, 0, 0, 0
		for _, v := range s.state.Volumes {
			if v.ProjectID == tok.ProjectID {
				vols++
			}
		}
		for _, sn := range s.state.Snapshots {
			if sn.ProjectID == tok.ProjectID {
				snaps++
			}
		}
		for _, b := range s.state.Backups {
			if b.ProjectID == tok.ProjectID {
				backups++
				backupGB += b.Size
			}
		}
		abs = M{
			"maxTotalVolumes": unlimited, "maxTotalSnapshots": unlimited,
			"maxTotalVolumeGigabytes": maxGB, "maxTotalBackups": unlimited, "maxTotalBackupGigabytes": unlimited,
			"totalVolumesUsed": vols, "totalSnapshotsUsed": snaps, "totalGigabytesUsed": s.usedGBLocked(),
			"totalBackupsUsed": backups, "totalBackupGigabytesUsed": backupGB,
		}
	})
	simcore.WriteJSON(w, http.StatusOK, M{"limits": M{"rate": []M{}, "absolute": abs}})
}
