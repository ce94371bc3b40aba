package cinderdisk

import (
	"errors"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

// FuzzCinderParameters feeds StorageClass parameters through the Cinder
// profile and, when accepted, into the create body: parsing never panics,
// rejects with ErrInvalidArgument naming the key, and an accepted "type" /
// "availability" ends up in the request unchanged (trimmed).
func FuzzCinderParameters(f *testing.F) {
	f.Add("type", "ssd", "availability", "nova")
	f.Add("Type", " fast ", "", "")
	f.Add("availability", "", "type", "x")
	f.Add("fsType", "ext4", "type", "ssd")
	f.Add("type", "a", "TYPE", "b")
	b := &Backend{opts: Options{ClusterID: "c"}}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		in := map[string]string{k1: v1, k2: v2}
		p, err := profile.Cinder{}.ParseParameters(in)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			return
		}
		opts := b.createOpts(backend.CreateRequest{Name: "n", SizeBytes: 1, Parameters: p})
		// "type" and "TYPE" together: either value may win.
		ambiguous := k1 != k2 && strings.EqualFold(k1, k2)
		for k, v := range in {
			v = strings.TrimSpace(v)
			switch strings.ToLower(k) {
			case "type":
				if opts.VolumeType == "" || (!ambiguous && opts.VolumeType != v) {
					t.Fatalf("type %q became volume_type %q", v, opts.VolumeType)
				}
			case "availability":
				if opts.AvailabilityZone == "" || (!ambiguous && opts.AvailabilityZone != v) {
					t.Fatalf("availability %q became zone %q", v, opts.AvailabilityZone)
				}
			default:
				t.Fatalf("unknown key %q accepted", k)
			}
		}
		if opts.Size != 1 || opts.Metadata[MetadataCluster] != "c" {
			t.Fatalf("create body %+v", opts)
		}
	})
}
