package driver

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// secretsRequest is every CSI request that carries secrets.
type secretsRequest interface{ GetSecrets() map[string]string }

// checkSecrets refuses a request whose secrets ask for something this
// driver does not do (Options.CheckSecrets decides). The refusal is
// InvalidArgument; secret values never reach it, only what the check puts
// in its message.
func (d *Driver) checkSecrets(req any) error {
	r, ok := req.(secretsRequest)
	if !ok || d.secretsCheck == nil || len(r.GetSecrets()) == 0 {
		return nil
	}
	if err := d.secretsCheck(r.GetSecrets()); err != nil {
		return status.Error(codes.InvalidArgument, "secrets: "+err.Error())
	}
	return nil
}
