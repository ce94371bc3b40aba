package nifclouddisk

import (
	"fmt"
	"regexp"
	"time"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/nifcloud"
)

// maxVolumeIDLen is the longest VolumeId NIFCLOUD accepts.
const maxVolumeIDLen = 32

// kumoIDForm is the form of VolumeIDFor: only such disks were made by kumo.
var kumoIDForm = regexp.MustCompile(`^kumo[0-9a-f]{28}$`)

// validateVolumeID refuses an ID NIFCLOUD cannot have, naming the CSI
// field: NIFCLOUD accepts 1-32 of [0-9A-Za-z_-] as a VolumeId (a leading
// '-' included, so backend.IDChars rather than backend.PathSafeID).
// Anything else can only fail at the API, so it is refused before any call.
func validateVolumeID(id string) error {
	if !backend.IDChars(id, maxVolumeIDLen) {
		return fmt.Errorf("volume_id %q is not a NIFCLOUD volume ID (1-32 of 0-9A-Za-z_-): %w", id, backend.ErrInvalidArgument)
	}
	return nil
}

// isKumoID reports an ID of the form VolumeIDFor produces.
func isKumoID(id string) bool { return kumoIDForm.MatchString(id) }

// DefaultCreationWindow is the default Options.CreationWindow.
const DefaultCreationWindow = 2 * time.Second

// creationAttachments are the active attachments of v that date from its
// CreateVolume: NIFCLOUD creates a disk attached to its host, stamping the
// attachment with the disk's creation time. A node's attachment (a publish)
// can only follow the create's detach, which takes longer than window, so
// it is never among them. Unreadable times count as a publish: when in
// doubt a disk is left attached.
func creationAttachments(v *nifcloud.Volume, window time.Duration) []nifcloud.VolumeAttachment {
	created, err := parseAPITime(v.CreateTime)
	if err != nil {
		return nil
	}
	var out []nifcloud.VolumeAttachment
	for _, a := range activeAttachments(v) {
		at, err := parseAPITime(a.AttachTime)
		if err == nil && at.Sub(created) <= window {
			out = append(out, a)
		}
	}
	return out
}

// parseAPITime reads NIFCLOUD's ISO 8601 times (with or without fraction).
func parseAPITime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}
