package profile

import (
	"errors"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

func TestRoundSize(t *testing.T) {
	tests := []struct {
		name      string
		p         backend.Profile
		req, lim  int64
		want      int64
		wantRange bool
	}{
		{"nifcloud default", NIFCLOUD{}, 0, 0, 100 * GiB, false},
		{"nifcloud 1 GiB to 100", NIFCLOUD{}, GiB, 0, 100 * GiB, false},
		{"nifcloud 1 byte", NIFCLOUD{}, 1, 0, 100 * GiB, false},
		{"nifcloud exact 100", NIFCLOUD{}, 100 * GiB, 100 * GiB, 100 * GiB, false},
		{"nifcloud 150 to 200", NIFCLOUD{}, 150 * GiB, 0, 200 * GiB, false},
		{"nifcloud 100 GiB + 1 byte", NIFCLOUD{}, 100*GiB + 1, 0, 200 * GiB, false},
		{"nifcloud limit below rounded", NIFCLOUD{}, 150 * GiB, 150 * GiB, 0, true},
		{"nifcloud default above limit", NIFCLOUD{}, 0, 10 * GiB, 0, true},
		{"nifcloud limit allows", NIFCLOUD{}, 10 * GiB, 300 * GiB, 100 * GiB, false},
		{"nifcloud negative", NIFCLOUD{}, -1, 0, 0, true},
		{"nifcloud overflow", NIFCLOUD{}, 1<<63 - 1, 0, 0, true},
		{"cinder default", Cinder{}, 0, 0, GiB, false},
		{"cinder 1 byte", Cinder{}, 1, 0, GiB, false},
		{"cinder 1.5 GiB", Cinder{}, GiB + GiB/2, 0, 2 * GiB, false},
		{"cinder 10 GiB exact", Cinder{}, 10 * GiB, 10 * GiB, 10 * GiB, false},
		{"cinder limit below rounded", Cinder{}, GiB + 1, GiB + 2, 0, true},
		{"cinder limit below default", Cinder{}, 0, GiB / 2, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.RoundSize(tt.req, tt.lim)
			if tt.wantRange {
				if !errors.Is(err, backend.ErrOutOfRange) {
					t.Fatalf("RoundSize(%d, %d) = %d, %v; want ErrOutOfRange", tt.req, tt.lim, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RoundSize(%d, %d) = %d, %v; want %d", tt.req, tt.lim, got, err, tt.want)
			}
		})
	}
}

func TestNIFCLOUDParameters(t *testing.T) {
	p, err := NIFCLOUD{}.ParseParameters(nil)
	if err != nil || p.Get("type") != "standard-flash-a" || p.Get("accountingtype") != "hourly" {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	p, err = NIFCLOUD{}.ParseParameters(map[string]string{"Type": "High-Speed-B", "AccountingType": "1", "fstype": "xfs"})
	if err != nil || p.Get("type") != "high-speed-b" || p.Get("accountingtype") != "monthly" {
		t.Fatalf("explicit: %+v, %v", p, err)
	}
	p, err = NIFCLOUD{}.ParseParameters(map[string]string{"type": "high-speed"})
	if err != nil || (p.Get("type") != "high-speed-a" && p.Get("type") != "high-speed-b") {
		t.Fatalf("alias: %+v, %v", p, err)
	}
	for key, params := range map[string]map[string]string{
		"type":           {"type": "ssd"},
		"accountingtype": {"accountingtype": "yearly"},
		"iops":           {"iops": "3000"},
	} {
		_, err := NIFCLOUD{}.ParseParameters(params)
		if !errors.Is(err, backend.ErrInvalidArgument) || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("%v: error %v does not name %q as invalid", params, err, key)
		}
	}
	if _, err := (NIFCLOUD{}).ParseSnapshotParameters(map[string]string{"type": "x"}); !errors.Is(err, backend.ErrInvalidArgument) {
		t.Errorf("snapshot parameters accepted: %v", err)
	}
}

func TestCinderParameters(t *testing.T) {
	p, err := Cinder{}.ParseParameters(map[string]string{"type": "ssd", "availability": "nova"})
	if err != nil || p.Get("type") != "ssd" || p.Zone != "nova" {
		t.Fatalf("parse: %+v, %v", p, err)
	}
	_, err = Cinder{}.ParseParameters(map[string]string{"zone": "nova"})
	if !errors.Is(err, backend.ErrInvalidArgument) || !strings.Contains(err.Error(), `"zone"`) {
		t.Fatalf("unknown key: %v", err)
	}
	s, err := Cinder{}.ParseSnapshotParameters(map[string]string{"type": "backup", "force-create": "TRUE"})
	if err != nil || s.Get("type") != "backup" || s.Get("force-create") != "true" {
		t.Fatalf("snapshot parameters: %+v, %v", s, err)
	}
	if _, err := (Cinder{}).ParseSnapshotParameters(map[string]string{"backup-max-duration-seconds-per-gb": "0"}); !errors.Is(err, backend.ErrInvalidArgument) {
		t.Fatalf("bad duration accepted: %v", err)
	}
}

func TestForName(t *testing.T) {
	for _, name := range []string{"nifcloud", "openstack", "Cinder"} {
		if _, ok := ForName(name); !ok {
			t.Errorf("ForName(%q) failed", name)
		}
	}
	if _, ok := ForName("aws"); ok {
		t.Error("ForName(aws) succeeded")
	}
}
