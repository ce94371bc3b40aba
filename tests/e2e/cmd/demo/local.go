package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// idleScript replaces the command of containers whose image is not a
// shell (nginx): the load balancer only needs the Service and the nodes.
const idleScript = "while true; do sleep 3600; done"

// localizeManifest rewrites a user-facing example for this machine: no
// registry and no CNI are reachable, so every Pod template runs the local
// busybox image (imagePullPolicy Never) on the host network. Everything
// else (Services, StorageClasses, claims, volumes) is applied unchanged.
func localizeManifest(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs []string
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("%s: %w", in, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if err := localizePodSpec(&obj); err != nil {
			return fmt.Errorf("%s: %s %s: %w", in, obj.GetKind(), obj.GetName(), err)
		}
		b, err := json.Marshal(obj.Object)
		if err != nil {
			return err
		}
		docs = append(docs, string(b))
	}
	// A stream of JSON objects: ApplyFile reads it like YAML documents.
	return os.WriteFile(out, []byte(strings.Join(docs, "\n")), 0o644)
}

func localizePodSpec(obj *unstructured.Unstructured) error {
	var path []string
	switch obj.GetKind() {
	case "Pod":
		path = []string{"spec"}
	case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job":
		path = []string{"spec", "template", "spec"}
	default:
		return nil
	}
	spec, found, err := unstructured.NestedMap(obj.Object, path...)
	if err != nil || !found {
		return err
	}
	spec["hostNetwork"] = true
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			ctr, ok := c.(map[string]any)
			if !ok {
				continue
			}
			image, _ := ctr["image"].(string)
			if !strings.HasPrefix(image, "busybox") {
				ctr["command"] = []any{"sh", "-c", idleScript}
				delete(ctr, "args")
			}
			ctr["image"] = framework.BusyboxImageName
			ctr["imagePullPolicy"] = "Never"
		}
	}
	return unstructured.SetNestedMap(obj.Object, spec, path...)
}
