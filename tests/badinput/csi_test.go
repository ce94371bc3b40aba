package badinput

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kumo-project/kumo/pkg/csi/profile"
	"github.com/kumo-project/kumo/tests/csitest"
)

// csiCase is one invalid CreateVolume request: mutate turns a valid
// request into the bad one (c is the cloud, for its topology key).
type csiCase struct {
	name   string
	cloud  string // "" = every cloud
	mutate func(c csiCloud, r *csi.CreateVolumeRequest)
	code   codes.Code
	fields []string
	gap    string
}

// runCSICases sends every case to every cloud it applies to and checks
// the gRPC code, that the message names the fields and that the cloud
// was not changed.
func runCSICases(t *testing.T, tl *tally, area string, clouds []csiCloud, cases []csiCase) {
	t.Helper()
	n := 0
	for _, cl := range clouds {
		for _, c := range cases {
			if c.cloud != "" && c.cloud != cl.name {
				continue
			}
			n++
			t.Run(cl.name+"/"+c.name, func(t *testing.T) {
				req := validRequest(fmt.Sprintf("pvc-bad-%s-%03d", cl.name, n))
				c.mutate(cl, req)
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				resp, err := cl.ctrl.CreateVolume(ctx, req)
				t.Logf("error: %v", err)
				problems := errorProblems(err, c.fields...)
				if got := status.Code(err); err != nil && got != c.code {
					problems = append(problems, fmt.Sprintf("code %s, want %s", got, c.code))
				}
				m := cl.mutations()
				if len(m) > 0 {
					problems = append(problems, fmt.Sprintf("mutating cloud calls: %v", m))
				}
				if id := resp.GetVolume().GetVolumeId(); id != "" {
					// A wrongly accepted request must not leave a disk.
					if _, derr := cl.ctrl.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: id}); derr != nil {
						t.Errorf("cleanup of %s: %v", id, derr)
					}
					cl.mutations()
				}
				tl.verdict(t, area, c.gap, problems)
			})
		}
	}
	for _, cl := range clouds {
		if n := cl.disks(); n != 0 {
			t.Errorf("%s: %d disks left in the cloud", cl.name, n)
		}
	}
}

func params(kv ...string) func(csiCloud, *csi.CreateVolumeRequest) {
	return func(_ csiCloud, r *csi.CreateVolumeRequest) {
		r.Parameters = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			r.Parameters[kv[i]] = kv[i+1]
		}
	}
}

// requisite requires zone through the cloud's topology key.
func requisite(zone string) func(csiCloud, *csi.CreateVolumeRequest) {
	return func(c csiCloud, r *csi.CreateVolumeRequest) {
		r.AccessibilityRequirements = &csi.TopologyRequirement{
			Requisite: []*csi.Topology{{Segments: map[string]string{c.topologyKey: zone}}},
			Preferred: []*csi.Topology{{Segments: map[string]string{c.topologyKey: zone}}}}
	}
}

func TestStorageClassParameters(t *testing.T) {
	inv := codes.InvalidArgument
	cases := []csiCase{
		{"unknown key", "", params("foo", "bar"), inv, []string{"foo"}, ""},
		{"unknown key next to a valid one", "", params("type", "standard-flash-a", "iops", "3000"), inv, []string{"iops"}, ""},
		{"type unknown", "nifcloud", params("type", "ultra"), inv, []string{"type"}, ""},
		{"type empty", "", params("type", ""), inv, []string{"type"}, ""},
		{"type with mixed-case key", "nifcloud", params("Type", "bogus"), inv, []string{"Type"}, ""},
		{"accountingtype unknown", "nifcloud", params("accountingtype", "yearly"), inv, []string{"accountingtype"}, ""},
		{"accountingtype code 3", "nifcloud", params("accountingtype", "3"), inv, []string{"accountingtype"}, ""},
		{"availability on nifcloud", "nifcloud", params("availability", nifZone), inv, []string{"availability"}, ""},
		// The CSI spec's code for "unable to provision in accessible_topology".
		{"zone in topology unknown", "nifcloud", requisite("east-99"), codes.ResourceExhausted, []string{"east-99"}, ""},
		{"accountingtype on cinder", "openstack", params("accountingtype", "monthly"), inv, []string{"accountingtype"}, ""},
		{"snapshot parameter on cinder", "openstack", params("force-create", "true"), inv, []string{"force-create"}, ""},
		{"availability empty", "openstack", params("availability", " "), inv, []string{"availability"}, ""},
		{"availability outside the requisite topology", "openstack", func(c csiCloud, r *csi.CreateVolumeRequest) {
			requisite(osZone)(c, r)
			r.Parameters = map[string]string{"availability": "az-2"}
		}, inv, []string{"availability"}, ""},
		{"volume type that does not exist", "openstack", params("type", "no-such-type"), inv, []string{"type"}, ""},
	}
	tl := newTally()
	runCSICases(t, tl, "storageclass parameters", startControllers(t), cases)
	t.Log("\n" + tl.summary())
}

func withCaps(caps ...*csi.VolumeCapability) func(csiCloud, *csi.CreateVolumeRequest) {
	return func(_ csiCloud, r *csi.CreateVolumeRequest) { r.VolumeCapabilities = caps }
}

func capWith(mode csi.VolumeCapability_AccessMode_Mode, f func(c *csi.VolumeCapability)) *csi.VolumeCapability {
	c := csitest.MountCapability()
	c.AccessMode.Mode = mode
	if f != nil {
		f(c)
	}
	return c
}

func TestVolumeCapabilities(t *testing.T) {
	inv := codes.InvalidArgument
	writer := csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER
	block := func(c *csi.VolumeCapability) {
		c.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
	}
	fs := func(t string) func(*csi.VolumeCapability) {
		return func(c *csi.VolumeCapability) { c.GetMount().FsType = t }
	}
	cases := []csiCase{
		{"capabilities missing", "", withCaps(), inv, []string{"volume capabilities"}, ""},
		{"capability nil", "", withCaps(nil), inv, []string{"volume capability"}, ""},
		{"access mode missing", "", withCaps(capWith(writer, func(c *csi.VolumeCapability) { c.AccessMode = nil })), inv, []string{"access mode"}, ""},
		{"MULTI_NODE_MULTI_WRITER", "", withCaps(capWith(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, nil)), inv,
			[]string{"access mode", "MULTI_NODE_MULTI_WRITER"}, ""},
		{"MULTI_NODE_MULTI_WRITER block", "", withCaps(capWith(csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER, block)), inv,
			[]string{"access mode", "MULTI_NODE_MULTI_WRITER"}, ""},
		{"MULTI_NODE_READER_ONLY", "", withCaps(capWith(csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY, nil)), inv,
			[]string{"access mode", "MULTI_NODE_READER_ONLY"}, ""},
		{"access mode out of enum", "", withCaps(capWith(csi.VolumeCapability_AccessMode_Mode(42), nil)), inv, []string{"access mode"}, ""},
		{"second capability bad", "", withCaps(csitest.MountCapability(), capWith(csi.VolumeCapability_AccessMode_MULTI_NODE_SINGLE_WRITER, nil)), inv,
			[]string{"access mode", "MULTI_NODE_SINGLE_WRITER"}, ""},
		{"access type missing", "", withCaps(capWith(writer, func(c *csi.VolumeCapability) { c.AccessType = nil })), inv,
			[]string{"access type"}, ""},
		{"fs type unknown", "", withCaps(capWith(writer, fs("ntfs"))), inv, []string{"fs_type", "ntfs"}, ""},
		{"fs type with shell text", "", withCaps(capWith(writer, fs("ext4 -E root_owner"))), inv, []string{"fs_type"}, ""},
		{"volume_mount_group", "", withCaps(capWith(writer, func(c *csi.VolumeCapability) { c.GetMount().VolumeMountGroup = "1000" })), inv,
			[]string{"volume_mount_group"}, ""},
		{"mutable_parameters", "", func(_ csiCloud, r *csi.CreateVolumeRequest) { r.MutableParameters = map[string]string{"iops": "1"} }, inv,
			[]string{"mutable_parameters"}, ""},
		{"name missing", "", func(_ csiCloud, r *csi.CreateVolumeRequest) { r.Name = "" }, inv, []string{"name"}, ""},
	}
	tl := newTally()
	runCSICases(t, tl, "volume capabilities", startControllers(t), cases)
	t.Log("\n" + tl.summary())
}

func capacity(required, limit int64) func(csiCloud, *csi.CreateVolumeRequest) {
	return func(_ csiCloud, r *csi.CreateVolumeRequest) {
		r.CapacityRange = &csi.CapacityRange{RequiredBytes: required, LimitBytes: limit}
	}
}

func TestSizes(t *testing.T) {
	gib := profile.GiB
	oor, inv := codes.OutOfRange, codes.InvalidArgument
	cases := []csiCase{
		{"required above limit", "", capacity(10*gib, 5*gib), oor, []string{"required_bytes", "limit_bytes"}, ""},
		{"required negative", "", capacity(-1, 0), inv, []string{"capacity_range"}, ""},
		{"limit negative", "", capacity(gib, -gib), inv, []string{"capacity_range"}, ""},
		{"required max int64", "", capacity(math.MaxInt64, 0), oor, []string{"capacity range"}, ""},
		{"limit below the 100 GB step", "nifcloud", capacity(0, 50*gib), oor, []string{"capacity range"}, ""},
		{"required 1 GiB limit 99 GiB", "nifcloud", capacity(gib, 99*gib), oor, []string{"capacity range"}, ""},
		{"above the 8000 GB maximum", "nifcloud", capacity(8100*gib, 0), oor, []string{"capacity range"}, ""},
		{"limit below 1 GiB", "openstack", capacity(0, gib/2), oor, []string{"capacity range"}, ""},
		{"required rounds above limit", "openstack", capacity(gib+gib/2, gib+gib/2), oor, []string{"capacity range"}, ""},
	}
	tl := newTally()
	runCSICases(t, tl, "sizes", startControllers(t), cases)
	t.Log("\n" + tl.summary())
}
