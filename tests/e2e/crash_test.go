package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kumo-project/kumo/tests/e2e/framework"
)

// crashCloud is what the crash scenarios need to know about a cloud.
type crashCloud struct {
	name     string
	admin    string
	url      func(*framework.Cloudsim) string
	ccm, csi func(e *env) (framework.CCMOptions, framework.CSIOptions)
	addNode  func(e *env, name string, n int)
	params   map[string]string
	// killPoints are simulator actions after whose first call the CSI
	// controller is killed while creating a volume.
	killPoints []string
	// lbKillPoint is the action after whose first call the CCM is killed.
	lbKillPoint string
	// leaks counts what the audit must find empty.
	leaks func(ctx context.Context, e *env) (map[string]int, error)
}

func crashClouds() []crashCloud {
	return []crashCloud{
		{
			name: "nifcloud", admin: framework.NIFCLOUDAdmin,
			url: func(s *framework.Cloudsim) string { return s.NIFCLOUDURL },
			ccm: func(e *env) (framework.CCMOptions, framework.CSIOptions) {
				env := framework.NIFCLOUDClientEnv(e.sim, nifcloudRegion)
				return framework.CCMOptions{Cloud: "nifcloud", Env: env}, framework.CSIOptions{Cloud: "nifcloud", Env: env}
			},
			addNode: func(e *env, name string, n int) {
				if err := framework.AddNIFCLOUDInstance(e.ctx, e.sim, name, nifcloudZone, n); err != nil {
					e.t.Fatal(err)
				}
			},
			params: map[string]string{"type": "standard"},
			// After the create on the host instance, and after its detach.
			killPoints:  []string{"CreateVolume", "DetachVolume"},
			lbKillPoint: "CreateLoadBalancer",
			leaks: func(ctx context.Context, e *env) (map[string]int, error) {
				st, err := (&nifcloudEnv{env: e}).state(ctx)
				return map[string]int{"volumes": len(st.Volumes), "load balancers": len(st.LoadBalancers)}, err
			},
		},
		{
			name: "openstack", admin: framework.OpenStackAdmin,
			url: func(s *framework.Cloudsim) string { return s.OpenStackURL },
			ccm: func(e *env) (framework.CCMOptions, framework.CSIOptions) {
				conf, err := framework.WriteOpenStackCloudConf(e.ctx, e.sim, e.dir)
				if err != nil {
					e.t.Fatal(err)
				}
				return framework.CCMOptions{Cloud: "openstack", CloudConfig: conf}, framework.CSIOptions{Cloud: "openstack", CloudConfig: conf}
			},
			addNode: func(e *env, name string, n int) {
				if _, err := framework.AddOpenStackServer(e.ctx, e.sim, name, openstackZone, n); err != nil {
					e.t.Fatal(err)
				}
			},
			params:      map[string]string{},
			killPoints:  []string{"cinder.volume_create"},
			lbKillPoint: "octavia.loadbalancer_create",
			leaks: func(ctx context.Context, e *env) (map[string]int, error) {
				st, err := (&openstackEnv{env: e}).state(ctx)
				return map[string]int{"volumes": len(st.Volumes), "load balancers": len(st.LoadBalancers),
					"listeners": len(st.Listeners), "members": len(st.Members), "floating IPs": len(st.FloatingIPs)}, err
			},
		},
	}
}

// TestCrashRecovery kills the CSI controller (kill -9) in the middle of
// CreateVolume and the CCM in the middle of EnsureLoadBalancer, restarts
// them, lets the retries converge, deletes everything and audits the
// simulator: nothing may be left, and no volume name may have two disks.
func TestCrashRecovery(t *testing.T) {
	for _, c := range crashClouds() {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, framework.CloudsimOptions{
				// Slow transitions keep each step open long enough to crash in.
				Transition: "volume.create=2s,volume.attach=2s,volume.detach=2s,octavia.create=2s,octavia.update=500ms,octavia.delete=300ms",
				Env:        framework.SimEnv(),
			})
			for i := 1; i <= 2; i++ {
				c.addNode(e, fmt.Sprintf("crash-%s-%d", c.name, i), 20+i)
			}
			ccmOpts, csiOpts := c.ccm(e)
			for _, point := range c.killPoints {
				t.Run("CSI controller killed after "+point, func(t *testing.T) {
					crashDuringCreateVolume(t, e, c, csiOpts, point)
				})
			}
			t.Run("CCM killed after "+c.lbKillPoint, func(t *testing.T) {
				crashDuringEnsureLoadBalancer(t, e, c, ccmOpts)
			})
			leaks, err := c.leaks(e.ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			for what, n := range leaks {
				if n != 0 {
					t.Errorf("audit: %d %s left in the cloud", n, what)
				}
			}
			t.Logf("audit after crashes: %v", leaks)
		})
	}
}

// killAfterFirstCall waits until the simulator has counted one more call
// of action than before, then kills p.
func killAfterFirstCall(t *testing.T, e *env, c crashCloud, action string, before int64, p *framework.Process) {
	t.Helper()
	e.eventually("a "+action+" call to crash in", 60*time.Second, func(ctx context.Context) (bool, error) {
		counts, err := e.sim.Counters(ctx, c.url(e.sim), c.admin)
		return err == nil && counts[action] > before, err
	})
	p.Kill()
}

func crashDuringCreateVolume(t *testing.T, e *env, c crashCloud, opts framework.CSIOptions, point string) {
	counts, err := e.sim.Counters(e.ctx, c.url(e.sim), c.admin)
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := framework.StartCSIController(e.ctx, e.bins, e.cp, e.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	name := "pvc-crash-" + point
	req := &csi.CreateVolumeRequest{
		Name:          name,
		CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30},
		VolumeCapabilities: []*csi.VolumeCapability{{
			AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
			AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
		}},
		Parameters: c.params,
	}
	first := make(chan error, 1)
	go func() {
		_, err := csiController(t, ctl).CreateVolume(e.ctx, req)
		first <- err
	}()
	killAfterFirstCall(t, e, c, point, counts[point], ctl.Driver)
	ctl.Stop()
	if err := <-first; err == nil {
		t.Fatalf("CreateVolume answered although the driver was killed after %s", point)
	}

	// Restart and retry, as external-provisioner would.
	ctl, err = framework.StartCSIController(e.ctx, e.bins, e.cp, e.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Stop()
	client := csiController(t, ctl)
	var vol *csi.Volume
	e.eventually("CreateVolume retried after the crash", 2*time.Minute, func(ctx context.Context) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		resp, err := client.CreateVolume(cctx, req)
		if err != nil {
			return false, err
		}
		vol = resp.GetVolume()
		return true, nil
	})
	list, err := client.ListVolumes(e.ctx, &csi.ListVolumesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetEntries()); n != 1 {
		t.Errorf("%d volumes after the retry, want exactly 1 (no name with two disks)", n)
	}
	for _, entry := range list.GetEntries() {
		if entry.GetVolume().GetVolumeId() != vol.GetVolumeId() {
			t.Errorf("extra volume %s next to %s", entry.GetVolume().GetVolumeId(), vol.GetVolumeId())
		}
		if nodes := entry.GetStatus().GetPublishedNodeIds(); len(nodes) != 0 {
			t.Errorf("volume %s still attached to %v after the create finished", vol.GetVolumeId(), nodes)
		}
	}
	if _, err := client.DeleteVolume(e.ctx, &csi.DeleteVolumeRequest{VolumeId: vol.GetVolumeId()}); err != nil {
		t.Fatalf("DeleteVolume: %v", err)
	}
}

func csiController(t *testing.T, ctl *framework.CSIController) csi.ControllerClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+ctl.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return csi.NewControllerClient(conn)
}

func crashDuringEnsureLoadBalancer(t *testing.T, e *env, c crashCloud, opts framework.CCMOptions) {
	counts, err := e.sim.Counters(e.ctx, c.url(e.sim), c.admin)
	if err != nil {
		t.Fatal(err)
	}
	ccm, err := framework.StartCCM(e.ctx, e.bins, e.cp, opts)
	if err != nil {
		t.Fatal(err)
	}
	k := e.cp.Client.CoreV1()
	nodes := []string{fmt.Sprintf("crash-%s-1", c.name), fmt.Sprintf("crash-%s-2", c.name)}
	for _, n := range nodes {
		if _, err := framework.RegisterNode(e.ctx, e.cp.Client, n); err != nil {
			t.Fatal(err)
		}
	}
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "crash", Namespace: "default"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "crash"},
			Ports: []v1.ServicePort{{Name: "http", Port: 80, Protocol: v1.ProtocolTCP}}},
	}
	if _, err := k.Services("default").Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	killAfterFirstCall(t, e, c, c.lbKillPoint, counts[c.lbKillPoint], ccm.Process)

	ccm, err = framework.StartCCM(e.ctx, e.bins, e.cp, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ccm.Stop(10 * time.Second)
	// e.eventually fails the parent test, so check both: a leak here needs
	// the restarted CCM's view of the Service to be diagnosed.
	defer func() {
		if t.Failed() || e.t.Failed() {
			t.Logf("restarted CCM, lines about the Service and errors:\n%s", serviceLogLines(ccm.LogTail(20000), "crash", 80))
		}
	}()
	e.eventually("LB converged after the CCM restart", 2*time.Minute, func(ctx context.Context) (bool, error) {
		s, err := k.Services("default").Get(ctx, "crash", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		leaks, err := c.leaks(ctx, e)
		if err != nil {
			return false, err
		}
		return len(s.Status.LoadBalancer.Ingress) == 1 && leaks["load balancers"] == 1, fmt.Errorf("ingress %v, cloud %v", s.Status.LoadBalancer.Ingress, leaks)
	})
	if err := k.Services("default").Delete(e.ctx, "crash", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("Service and its LB gone", 2*time.Minute, func(ctx context.Context) (bool, error) {
		_, err := k.Services("default").Get(ctx, "crash", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("service still there (%v)", err)
		}
		leaks, err := c.leaks(ctx, e)
		if err != nil {
			return false, err
		}
		for _, n := range leaks {
			if n != 0 {
				return false, fmt.Errorf("left in the cloud: %v", leaks)
			}
		}
		return true, nil
	})
}

// serviceLogLines keeps the log lines that name the Service or are errors,
// the last max of them.
func serviceLogLines(log, service string, max int) string {
	var kept []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "/"+service) || strings.HasPrefix(l, "E") || strings.HasPrefix(l, "W") {
			kept = append(kept, l)
		}
	}
	if len(kept) > max {
		kept = kept[len(kept)-max:]
	}
	return strings.Join(kept, "\n")
}
