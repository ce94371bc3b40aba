// Package nifcloud is kumo's own client for the NIFCLOUD computing API
// (https://{region}.computing.api.nifcloud.com/api/), covering the calls the
// cloud-controller-manager and the CSI driver need (see API).
//
// Requests are form-encoded POSTs (Action=..&Version=3.0&..) signed with
// signature version 2 (package signer). Each attempt waits on a client-side
// rate limiter, is re-signed and bounded by Config.Timeout; server errors,
// throttling (HTTP 429/503, *Throttling* / *RequestLimitExceeded* codes,
// Retry-After honoured) and transport failures are retried with jittered
// exponential backoff up to Config.MaxAttempts. Client.* errors are never
// retried. Note that a retried mutating call whose first attempt did reach
// the server may answer Duplicate/Inoperable: callers treat those as the
// idempotent outcome they are.
//
// Responses are decoded from the two XML styles of the API (EC2 style with
// lowerCamel names and <item> lists, ELB style with <{Action}Result>,
// <member> lists and <ResponseMetadata>); errors become *APIError.
//
// Credentials never appear in errors, logs, or Config's String/LogValue.
package nifcloud
