package keystoneauth

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// PolicyKey is the ConfigMap key holding the policy, as in k8s-keystone-auth.
const PolicyKey = "policies"

// PolicyLoader parses policy text and puts it in force; a policy that does
// not parse is refused and the one in force stays.
type PolicyLoader struct {
	Authorizer *Authorizer
	mu         sync.Mutex
	last       []byte
}

// Load applies data read from source (named in logs) unless unchanged.
func (l *PolicyLoader) Load(ctx context.Context, source string, data []byte) error {
	logger := klog.FromContext(ctx).WithValues("source", source)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != nil && bytes.Equal(l.last, data) {
		return nil
	}
	p, err := ParsePolicy(data)
	if err != nil {
		l.Authorizer.Metrics.reload(false, 0)
		logger.Error(err, "Keystone policy refused; the previous policy stays in force")
		return fmt.Errorf("%s: %w", source, err)
	}
	l.last = append([]byte(nil), data...)
	l.Authorizer.SetPolicy(p)
	logger.Info("Keystone policy loaded", "rules", len(p))
	return nil
}

// LoadFile loads the policy file once (at start-up: an error stops the
// webhook).
func (l *PolicyLoader) LoadFile(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading policy file: %w", err)
	}
	return l.Load(ctx, path, data)
}

// WatchFile re-reads the file every interval until ctx ends; a mounted
// ConfigMap changes the file in place.
func (l *PolicyLoader) WatchFile(ctx context.Context, path string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := os.ReadFile(path)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Reading the Keystone policy file; the previous policy stays in force", "path", path)
			continue
		}
		_ = l.Load(ctx, path, data)
	}
}

// WatchConfigMap follows one ConfigMap's "policies" key through a watch,
// so a change is in force within moments. A deleted ConfigMap (or one
// without the key) leaves an empty policy: Keystone users are denied.
// It returns once the first state is known.
func (l *PolicyLoader) WatchConfigMap(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	source := "configmap " + namespace + "/" + name
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := factory.Core().V1().ConfigMaps().Informer()
	apply := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok || cm.Name != name || cm.Namespace != namespace {
			return // the field selector already filters; clients that ignore it do not
		}
		data, found := cm.Data[PolicyKey]
		if !found {
			klog.FromContext(ctx).Info("Keystone policy ConfigMap has no "+PolicyKey+" key; Keystone users are denied", "source", source)
			data = "[]"
		}
		_ = l.Load(ctx, source, []byte(data))
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(obj any) {
			if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name != name {
				return
			}
			klog.FromContext(ctx).Info("Keystone policy ConfigMap deleted; Keystone users are denied", "source", source)
			_ = l.Load(ctx, source, []byte("[]"))
		},
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("watching %s: cache of %v did not sync", source, typ)
		}
	}
	if len(inf.GetStore().List()) == 0 {
		klog.FromContext(ctx).Info("Keystone policy ConfigMap not found; Keystone users are denied until it exists", "source", source)
		_ = l.Load(ctx, source, []byte("[]"))
	}
	return nil
}
