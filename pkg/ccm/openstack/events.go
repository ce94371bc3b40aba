package openstack

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
)

// eventForwarder is the recorder handed to the load balancer at
// construction: it forwards to whatever recorder Initialize (or a test)
// sets later and drops events until then.
type eventForwarder struct {
	mu sync.RWMutex
	r  record.EventRecorder
}

var _ record.EventRecorder = (*eventForwarder)(nil)

func (f *eventForwarder) set(r record.EventRecorder) {
	f.mu.Lock()
	f.r = r
	f.mu.Unlock()
}

func (f *eventForwarder) get() record.EventRecorder {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.r
}

// Event implements record.EventRecorder.
func (f *eventForwarder) Event(object runtime.Object, eventtype, reason, message string) {
	if r := f.get(); r != nil {
		r.Event(object, eventtype, reason, message)
	}
}

// Eventf implements record.EventRecorder.
func (f *eventForwarder) Eventf(object runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	if r := f.get(); r != nil {
		r.Eventf(object, eventtype, reason, messageFmt, args...)
	}
}

// AnnotatedEventf implements record.EventRecorder.
func (f *eventForwarder) AnnotatedEventf(object runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...any) {
	if r := f.get(); r != nil {
		r.AnnotatedEventf(object, annotations, eventtype, reason, messageFmt, args...)
	}
}
