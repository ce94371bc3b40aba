package registrar

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// The test plays the kubelet's plugin watcher: it finds the socket, asks
// for the plugin's info and reports the registration status.
func TestRegistrarAsTheKubeletSeesIt(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Options{DriverName: "cinder.csi.openstack.org", Endpoint: "/var/lib/kubelet/plugins/cinder.csi.openstack.org/csi.sock", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// A socket left by a crashed run is replaced.
	if err := os.WriteFile(r.SocketPath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx) }()

	if want := filepath.Join(dir, "cinder.csi.openstack.org-reg.sock"); r.SocketPath() != want {
		t.Fatalf("socket %s, want %s", r.SocketPath(), want)
	}
	var conn *grpc.ClientConn
	deadline := time.Now().Add(5 * time.Second)
	for {
		if fi, err := os.Stat(r.SocketPath()); err == nil && fi.Mode()&os.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("registration socket never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err = grpc.NewClient("unix://"+r.SocketPath(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }() // test connection
	c := registerapi.NewRegistrationClient(conn)
	info, err := c.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetType() != registerapi.CSIPlugin || info.GetName() != "cinder.csi.openstack.org" ||
		info.GetEndpoint() != "/var/lib/kubelet/plugins/cinder.csi.openstack.org/csi.sock" || len(info.GetSupportedVersions()) != 1 {
		t.Errorf("GetInfo = %v", info)
	}
	if ok, _ := r.Status(); ok {
		t.Error("registered before the kubelet said so")
	}
	if _, err := c.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: false, Error: "version 2.0.0 unsupported"}); err != nil {
		t.Fatal(err)
	}
	<-r.Notified()
	if ok, msg := r.Status(); ok || msg != "version 2.0.0 unsupported" {
		t.Errorf("after a refusal: registered %t, %q", ok, msg)
	}
	if _, err := c.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	if ok, msg := r.Status(); !ok || msg != "" {
		t.Errorf("after registration: registered %t, %q", ok, msg)
	}

	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.SocketPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after stop: %v", err)
	}
}

func TestRegistrarOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"no name":           {Endpoint: "/x/csi.sock", Dir: "/r"},
		"relative endpoint": {DriverName: "d", Endpoint: "csi.sock", Dir: "/r"},
		"no dir":            {DriverName: "d", Endpoint: "/x/csi.sock"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
