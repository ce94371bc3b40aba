package nifcloud

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/watch"
)

// TestMain widens the fake clientset's watch buffers before any test runs:
// the tracker panics ("channel full") once an informer falls 100 events
// behind, which the 100-node controller test reaches on a loaded 2-core CI
// machine. This is the knob client-go's fixture documents for it.
func TestMain(m *testing.M) {
	watch.DefaultChanSize = 10000
	os.Exit(m.Run())
}
