package framework

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

// ImageFile is one entry of a locally made image's single layer: a regular
// file copied from the host (Source), or a symlink (Link), or a directory.
type ImageFile struct {
	Path   string // inside the image, without a leading "/"
	Source string // host file to copy (regular file)
	Link   string // symlink target
	Dir    bool
	Mode   int64
}

// ImageSpec describes an image made at test time: no registry is reachable
// here, so the kubelets run images built from host binaries.
type ImageSpec struct {
	Name       string // e.g. kumo.local/busybox:e2e
	Files      []ImageFile
	Entrypoint []string
	Cmd        []string
	Env        []string
}

// WriteOCIArchive writes spec as an OCI image layout tarball (one
// uncompressed layer), which `ctr images import` accepts; the image is
// named by the io.containerd.image.name annotation.
func WriteOCIArchive(path string, spec ImageSpec) error {
	layer, err := buildLayer(spec.Files)
	if err != nil {
		return err
	}
	layerDigest := digestOf(layer)
	env := spec.Env
	if len(env) == 0 {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	config, err := json.Marshal(map[string]any{
		"created":      time.Unix(0, 0).UTC().Format(time.RFC3339),
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config":       map[string]any{"Entrypoint": spec.Entrypoint, "Cmd": spec.Cmd, "Env": env},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor("application/vnd.oci.image.config.v1+json", config),
		"layers":        []any{descriptor("application/vnd.oci.image.layer.v1.tar", layer)},
	})
	if err != nil {
		return err
	}
	mdesc := descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
	mdesc["annotations"] = map[string]string{"io.containerd.image.name": spec.Name, "org.opencontainers.image.ref.name": spec.Name}
	mdesc["platform"] = map[string]string{"architecture": runtime.GOARCH, "os": "linux"}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []any{mdesc},
	})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	entries := []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blobPath(config), config},
		{blobPath(layer), layer},
		{blobPath(manifest), manifest},
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

func buildLayer(files []ImageFile) ([]byte, error) {
	sorted := append([]ImageFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		h := &tar.Header{Name: f.Path, Mode: f.Mode, ModTime: time.Unix(0, 0)}
		var data []byte
		switch {
		case f.Dir:
			h.Typeflag, h.Name = tar.TypeDir, f.Path+"/"
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case f.Link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
			h.Mode = 0o777
		default:
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return nil, fmt.Errorf("image file %s: %w", f.Path, err)
			}
			data = b
			h.Typeflag, h.Size = tar.TypeReg, int64(len(b))
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(b []byte) string { return "blobs/sha256/" + digestOf(b)[len("sha256:"):] }

func descriptor(mediaType string, b []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digestOf(b), "size": len(b)}
}

// BusyboxImage is a shell image from the host's static busybox (Debian's
// busybox-static): /bin/sh and the applets the scenarios use.
func BusyboxImage(name, busybox string) ImageSpec {
	files := []ImageFile{
		{Path: "bin", Dir: true}, {Path: "tmp", Dir: true, Mode: 0o1777}, {Path: "data", Dir: true},
		{Path: "bin/busybox", Source: busybox},
	}
	for _, applet := range []string{"sh", "cat", "echo", "sleep", "ls", "df", "dd", "touch", "mkdir", "test", "sync", "stat", "wc", "rm", "true", "awk", "tail", "head", "grep", "blockdev", "mount", "cmp"} {
		files = append(files, ImageFile{Path: "bin/" + applet, Link: "busybox"})
	}
	return ImageSpec{Name: name, Files: files, Entrypoint: []string{"/bin/sh"}}
}

// PauseImage is the sandbox image from tests/e2e/cmd/pause.
func PauseImage(name, pause string) ImageSpec {
	return ImageSpec{Name: name, Files: []ImageFile{{Path: "pause", Source: pause}}, Entrypoint: []string{"/pause"}}
}
