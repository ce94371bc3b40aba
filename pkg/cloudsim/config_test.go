package cloudsim

import (
	"testing"
	"time"
)

func TestParseDurations(t *testing.T) {
	got, err := ParseDurations("*=10ms, CreateVolume=2s")
	if err != nil || got["*"] != 10*time.Millisecond || got["CreateVolume"] != 2*time.Second {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"x", "=1s", "a=notaduration"} {
		if _, err := ParseDurations(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		}
	}
	if m, err := ParseDurations(""); err != nil || len(m) != 0 {
		t.Fatalf("empty: %v %v", m, err)
	}
}
