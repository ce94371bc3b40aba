package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// servicePatcher writes annotations to Services with the client
// Initialize builds; until then (or without a client) writes fail and
// the load balancer retries them on its next sync.
type servicePatcher struct {
	mu sync.RWMutex
	c  kubernetes.Interface
}

func (p *servicePatcher) set(c kubernetes.Interface) {
	p.mu.Lock()
	p.c = c
	p.mu.Unlock()
}

// PatchAnnotations merge-patches metadata.annotations of one Service.
func (p *servicePatcher) PatchAnnotations(ctx context.Context, namespace, name string, annotations map[string]string) error {
	p.mu.RLock()
	c := p.c
	p.mu.RUnlock()
	if c == nil {
		return errors.New("no Kubernetes client yet")
	}
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	if _, err := c.CoreV1().Services(namespace).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch Service %s/%s: %w", namespace, name, err)
	}
	return nil
}
