package openstacksim

import (
	"net/http"

	"github.com/kumo-project/kumo/pkg/cloudsim/simcore"
)

// unlimited is Cinder's absolute limit value for "no limit".
const unlimited = -1

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
		if s.opts.VolumeQuotaGB > 0 {
			maxGB = s.opts.VolumeQuotaGB
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
