package nifclouddisk

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kumo-project/kumo/pkg/csi/backend"
	"github.com/kumo-project/kumo/pkg/csi/profile"
)

func TestDescription(t *testing.T) {
	pvc := "pvc-2f1d7e56-9c1b-4a4e-8a43-6f2b3b0e9d11"
	if len(pvc) != 40 || Description(pvc) != pvc {
		t.Fatalf("Description(%q) = %q, want it verbatim", pvc, Description(pvc))
	}
	long := pvc + "x"
	d := Description(long)
	if len(d) != MaxDescription || !strings.HasPrefix(d, "pvc-2f1d7e56-9c-") || d != Description(long) {
		t.Fatalf("Description(long) = %q", d)
	}
	if Description(long+"y") == d {
		t.Fatal("different names share a description")
	}
	if got := Description("a b/ü"); got == "a b/ü" || !plainName.MatchString(got) || !strings.HasPrefix(got, "a-b---") {
		t.Fatalf("unsafe characters kept: %q", got)
	}
	id := VolumeIDFor(pvc)
	if !regexp.MustCompile(`^kumo[0-9a-f]{28}$`).MatchString(id) || id == VolumeIDFor(long) {
		t.Fatalf("VolumeIDFor = %q", id)
	}
}

func TestSizeGB(t *testing.T) {
	for in, want := range map[int64]int{1: 100, 100 * profile.GiB: 100, 100*profile.GiB + 1: 200, 8000 * profile.GiB: 8000} {
		if got, err := sizeGB(in); err != nil || got != want {
			t.Errorf("sizeGB(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := sizeGB(0); !errors.Is(err, backend.ErrOutOfRange) {
		t.Errorf("sizeGB(0): %v", err)
	}
}

// FuzzNIFCLOUDParameters: whatever StorageClass parameters the profile
// accepts, the backend can turn into wire values; whatever it rejects is
// InvalidArgument naming the offending key.
func FuzzNIFCLOUDParameters(f *testing.F) {
	f.Add("type", "high-speed", "accountingtype", "monthly")
	f.Add("Type", " FLASH ", "AccountingType", "2")
	f.Add("fstype", "ext4", "type", "standard-flash")
	f.Add("type", "ultra", "zone", "east-11")
	f.Add("", "", "accountingtype", "yearly")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		params := map[string]string{k1: v1, k2: v2}
		p, err := profile.NIFCLOUD{}.ParseParameters(params)
		if err != nil {
			if !errors.Is(err, backend.ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), `"`) {
				t.Fatalf("error %v does not quote the key", err)
			}
			return
		}
		dt, err := diskTypeCode(p.Get(profile.NIFCLOUDParamType))
		if err != nil || len(dt) != 1 || dt < "2" || dt > "9" {
			t.Fatalf("accepted type %q maps to %q, %v", p.Get(profile.NIFCLOUDParamType), dt, err)
		}
		ac, err := accountingCode(p.Get(profile.NIFCLOUDParamAccountingType))
		if err != nil || (ac != "1" && ac != "2") {
			t.Fatalf("accepted accounting type %q maps to %q, %v", p.Get(profile.NIFCLOUDParamAccountingType), ac, err)
		}
		for _, name := range []string{k1 + v1, k2 + v2} {
			d := Description(name)
			if utf8.RuneCountInString(d) > MaxDescription || d != Description(name) {
				t.Fatalf("Description(%q) = %q", name, d)
			}
			if d != name && (!plainName.MatchString(d) || len(d) != MaxDescription) {
				t.Fatalf("shortened Description(%q) = %q", name, d)
			}
		}
	})
}
