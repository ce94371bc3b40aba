package cinderdisk

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// isSameAZRefusal reports Cinder's 400 for a clone or restore into another
// availability zone than its source's (cloned_volume_same_az): "Invalid
// input received: Volume must be in the same availability zone as the
// snapshot" (or "... as the source volume"). The driver creates clones and
// restores in the source's zone, so this only happens when it could not
// learn that zone (the snapshot's volume is gone) and another was asked.
func isSameAZRefusal(err error) bool {
	if httpStatus(err) != http.StatusBadRequest {
		return false
	}
	const msg = "must be in the same availability zone"
	var ue gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &ue) {
		return bytes.Contains(ue.Body, []byte(msg))
	}
	var uep *gophercloud.ErrUnexpectedResponseCode
	return errors.As(err, &uep) && uep != nil && bytes.Contains(uep.Body, []byte(msg))
}
