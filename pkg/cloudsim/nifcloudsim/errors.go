package nifcloudsim

import (
	"fmt"
	"net/http"
	"time"
)

// apiError is a NIFCLOUD error answer. Status follows the code's family:
// Client.* → 400 (401/403 for authentication), Server.* → 500 (503 for
// throttling and injected timeouts).
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Error codes. Those marked (doc) appear in NIFCLOUD's documentation / the
// reference repositories; the others are the simulator's choice in the same
// naming scheme.
const (
	// Authentication and request shape.
	CodeMissingParameter = "Client.RequestError.MissingParameter" // a required form key is absent
	CodeMalformedRequest = "Client.RequestError.MalformedRequest" // body not a form
	// CodeUnknownAccessKey deliberately avoids the
	// "Client.InvalidParameterNotFound." family: clients treat that prefix
	// as "the resource is gone", which must never happen for a bad key.
	CodeUnknownAccessKey      = "Client.AuthFailure.AccessKeyId" // 401
	CodeSignatureMismatch     = "Client.SignatureDoesNotMatch"   // 403
	CodeBadSignatureVersion   = "Client.InvalidParameterValue.SignatureVersion"
	CodeBadVersion            = "Client.InvalidParameterValue.Version"
	CodeUnknownAction         = "Client.InvalidParameterValue.Action"
	CodeInternalError         = "Server.InternalError"         // injected FaultError (500)
	CodeRequestLimitExceeded  = "Server.RequestLimitExceeded"  // injected FaultThrottle (503 + Retry-After)
	CodeServiceUnavailable    = "Server.ServiceUnavailable"    // injected FaultTimeout after the hang (503)
	CodeInvalidParameterValue = "Client.InvalidParameterValue" // + "." + parameter

	// Instances.
	CodeInstanceNotFound = "Client.InvalidParameterNotFound.Instance" // (doc)

	// Volumes.
	CodeVolumeNotFound         = "Client.InvalidParameterNotFound.Volume"        // (doc)
	CodeVolumeDuplicate        = "Client.InvalidParameterDuplicate.Volume"       // VolumeId taken
	CodeVolumeAlreadyAttached  = "Server.Inoperable.Volume.AlreadyAttached"      // (doc) answered with 400, see attachVolume
	CodeVolumeDetached         = "Client.Inoperable.Volume.DetachedFromInstance" // (doc)
	CodeVolumeProcessing       = "Client.Inoperable.Volume.Processing"           // a transition is in progress
	CodeVolumeInUse            = "Client.Inoperable.Volume.InUse"                // delete of an attached volume
	CodeVolumeSizeLimit        = "Client.Inoperable.Volume.SizeLimitExceeded"    // extend beyond 8000 GB
	CodeInstanceVolumeLimit    = "Client.Inoperable.Instance.VolumeLimitExceeded"
	CodeDescriptionTooLong     = "Client.InvalidParameterLimitExceeded.Description"
	CodeInstanceInoperable     = "Client.Inoperable.Instance.State"
	CodeAgreementRequired      = "Client.InvalidParameterValue.Agreement"
	CodeInvalidVolumeSize      = "Client.InvalidParameterValue.Size"
	CodeInvalidDiskType        = "Client.InvalidParameterValue.DiskType"
	CodeInvalidAccountingType  = "Client.InvalidParameterValue.AccountingType"
	CodeInvalidNetworkVolume   = "Client.InvalidParameterValue.NetworkVolume"
	CodeInvalidVolumeIDPattern = "Client.InvalidParameterValue.VolumeId"

	// L4 load balancers.
	CodeLBNotFound           = "Client.InvalidParameterNotFound.LoadBalancer"            // (doc)
	CodeLBPortNotFound       = "Client.InvalidParameterNotFound.LoadBalancerPort"        // (doc)
	CodeLBDuplicate          = "Client.InvalidParameterDuplicate.LoadBalancer"           // (doc)
	CodeLBPortExists         = "Client.Inoperable.LoadBalancerPort.AlreadyExists"        // (doc)
	CodeLBInstanceRegistered = "Client.Inoperable.LoadBalancer.HavingRegisteredInstance" // (doc) instance already registered
	CodeIPAddressDuplicate   = "Client.InvalidParameterDuplicate.IpAddress"              // (doc)
	CodeIPAddressNotFound    = "Client.InvalidParameterNotFound.IpAddress"

	// Elastic load balancers.
	CodeELBNotFound           = "Client.InvalidParameterNotFound.ElasticLoadBalancer"                   // (doc)
	CodeELBDuplicate          = "Client.InvalidParameterDuplicate.ElasticLoadBalancer"                  // (doc)
	CodeELBPortDuplicate      = "Client.InvalidParameterDuplicate.Protocol.and.ElasticLoadBalancerPort" // (doc)
	CodeELBPortNotFound       = "Client.InvalidParameterNotFound.Protocol.or.ElasticLoadBalancerPort"   // (ref fixtures)
	CodeELBInstanceRegistered = "Client.Inoperable.ElasticLoadBalancer.HavingRegisteredInstance"        // (doc)
	CodeELBProcessing         = "Client.Inoperable.ElasticLoadBalancer.Processing"                      // state is pending

	// Security groups.
	CodeSGNotFound        = "Client.InvalidParameterNotFound.SecurityGroup"        // (doc)
	CodeSGIngressNotFound = "Client.InvalidParameterNotFound.SecurityGroupIngress" // (doc)
	// A rule that already exists: NIFCLOUD's own cloud-controller-manager
	// matches exactly this code on AuthorizeSecurityGroupIngress.
	CodeSGRuleDuplicate = "Client.InvalidParameterDuplicate.SecurityGroup"
)

func clientErr(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func serverErr(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: code, Message: fmt.Sprintf(format, args...)}
}

func errMissing(param string) *apiError {
	return clientErr(CodeMissingParameter, "The request must contain the parameter %s.", param)
}

func errInvalid(param, value string) *apiError {
	return clientErr(CodeInvalidParameterValue+"."+param, "The value '%s' for parameter %s is invalid.", value, param)
}

func errInstanceNotFound(id string) *apiError {
	return clientErr(CodeInstanceNotFound, "The instance ID '%s' does not exist.", id)
}

func errVolumeNotFound(id string) *apiError {
	return clientErr(CodeVolumeNotFound, "The volume '%s' does not exist.", id)
}
