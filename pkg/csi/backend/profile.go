package backend

// AccessMode is a volume access mode a cloud supports. The values mirror
// csi.VolumeCapability_AccessMode_Mode so that this package does not
// depend on the CSI protobufs.
type AccessMode int32

// Access modes (same numbers as the CSI spec).
const (
	SingleNodeWriter       AccessMode = 1
	SingleNodeReaderOnly   AccessMode = 2
	MultiNodeReaderOnly    AccessMode = 3
	MultiNodeSingleWriter  AccessMode = 4
	MultiNodeMultiWriter   AccessMode = 5
	SingleNodeSingleWriter AccessMode = 6
	SingleNodeMultiWriter  AccessMode = 7
)

// Parameters are StorageClass (or VolumeSnapshotClass) parameters after a
// Profile validated and normalised them.
type Parameters struct {
	// Zone pins the disk to a zone (e.g. Cinder's "availability"); "" lets
	// the topology requirement decide.
	Zone string
	// ZoneKey is the parameter Zone came from (e.g. "availability"), for
	// error messages.
	ZoneKey string
	// Values are the validated parameters under their canonical keys
	// (e.g. "type", "accountingtype"), ready for the backend.
	Values map[string]string
	// Metadata are the sidecars' csi.storage.k8s.io/* parameters of a
	// snapshot (--extra-create-metadata: VolumeSnapshot name and
	// namespace, VolumeSnapshotContent name), to tag the snapshot with
	// where the cloud allows it. Volumes get theirs in
	// CreateRequest.Metadata.
	Metadata map[string]string
}

// Get returns a parameter value ("" if unset).
func (p Parameters) Get(key string) string { return p.Values[key] }

// Features are the optional abilities of a cloud.
type Features struct {
	// Snapshots: the cloud has disk snapshots (the backend must also
	// implement Snapshots).
	Snapshots bool
	// Clone: disks can be created from another disk.
	Clone bool
	// OnlineExpansion: attached disks can be grown; otherwise only
	// detached ones (advertised as OFFLINE expansion).
	OnlineExpansion bool
	// Expansion: disks can be grown at all.
	Expansion bool
}

// Profile describes the fixed properties of a cloud. Implementations
// (pkg/csi/profile) are stateless and safe for concurrent use.
type Profile interface {
	// Name is a short identifier ("nifcloud", "openstack").
	Name() string
	// DriverName is the default CSI driver name.
	DriverName() string
	// TopologyKey is the node label / topology segment key holding the zone.
	TopologyKey() string
	// ParseParameters validates StorageClass parameters. The driver has
	// already removed keys prefixed "csi.storage.k8s.io/". Errors wrap
	// ErrInvalidArgument and name the offending key.
	ParseParameters(params map[string]string) (Parameters, error)
	// ParseSnapshotParameters validates VolumeSnapshotClass parameters.
	ParseSnapshotParameters(params map[string]string) (Parameters, error)
	// RoundSize turns a CSI capacity range into a size the cloud can
	// provide: requiredBytes (0 = default size) rounded up to the cloud's
	// granularity. limitBytes (0 = no limit) below the result, or a size
	// beyond the cloud's bounds, is an error wrapping ErrOutOfRange.
	RoundSize(requiredBytes, limitBytes int64) (int64, error)
	// DefaultMaxVolumesPerNode is the attach limit reported by NodeGetInfo
	// unless overridden.
	DefaultMaxVolumesPerNode() int64
	// SupportedAccessModes lists the access modes the cloud supports.
	SupportedAccessModes() []AccessMode
	// Features reports the optional abilities of the cloud.
	Features() Features
}
