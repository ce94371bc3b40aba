package profile

import (
	"errors"
	"strings"
	"testing"

	"github.com/kumo-project/kumo/pkg/csi/backend"
)

func TestCinderMutableParameters(t *testing.T) {
	p, err := Cinder{}.ParseMutableParameters(map[string]string{"Type": " ssd ", "migrationPolicy": "On-Demand"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Get(CinderParamType) != "ssd" || p.Get(CinderParamMigrationPolicy) != CinderMigrationOnDemand {
		t.Fatalf("parsed %v", p.Values)
	}
	for in, key := range map[string]string{"type": "type", "migrationPolicy": "migrationPolicy", "iops": "iops"} {
		v := map[string]string{"type": " ", "migrationPolicy": "always", "iops": "3000"}[in]
		_, err := Cinder{}.ParseMutableParameters(map[string]string{in: v})
		if !errors.Is(err, backend.ErrInvalidArgument) || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("%s=%q: %v, want InvalidArgument naming %q", in, v, err, key)
		}
	}
	if r := (NIFCLOUD{}).ModifyUnsupportedReason(); !strings.Contains(r, "accountingType") {
		t.Errorf("NIFCLOUD reason %q does not say what can change", r)
	}
}
