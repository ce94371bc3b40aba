// Package backend is the seam between kumo's cloud-neutral CSI driver
// (pkg/csi/driver) and the clouds it runs on.
//
// The controller side talks to a cloud through Disks and, when the cloud
// supports them, the optional Snapshots and Capacity interfaces, which the
// driver discovers by type assertion on the Disks value. A Profile describes
// the fixed properties of a cloud: its driver name, topology key, how
// StorageClass parameters are validated and how sizes are rounded.
//
// The node side finds the block device of an attached volume through a
// DeviceFinder, learns its own identity through NodeIdentity and mounts
// through a Mounter.
//
// Implementations report failures with the sentinel errors of this package
// (wrapped with %w) so the driver can map them to the gRPC codes the CSI
// specification requires; any other error becomes codes.Internal.
package backend
