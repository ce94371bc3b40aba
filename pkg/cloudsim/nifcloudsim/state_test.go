package nifcloudsim

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestPersistenceAcrossRestart(t *testing.T) {
	clk := newFakeClock()
	path := filepath.Join(t.TempDir(), "state", "nifcloud.json")
	h := newHarness(t, Options{StatePath: path, Now: clk.Now})
	seed(t, h.sim, Instance{InstanceID: "n1", SecurityGroup: "k8s"})
	setTransitions(h.sim, map[string]time.Duration{"volume.create": time.Minute, "elb.apply": time.Minute})
	vol := h.ok("CreateVolume", "Size", "300", "InstanceId", "n1", "Description", "pvc-x").text("volumeId")
	h.ok("CreateLoadBalancer", "LoadBalancerName", "lb1", "Listeners.member.1.LoadBalancerPort", "80", "Listeners.member.1.InstancePort", "30080")
	h.ok("RegisterInstancesWithLoadBalancer", "LoadBalancerName", "lb1", "LoadBalancerPort", "80", "InstancePort", "30080", "Instances.member.1.InstanceId", "n1")
	h.ok("NiftyCreateElasticLoadBalancer", "ElasticLoadBalancerName", "elb1", "Listeners.member.1.ElasticLoadBalancerPort", "80", "Listeners.member.1.InstancePort", "30080")
	h.ok("AuthorizeSecurityGroupIngress", "GroupName", "k8s", "IpPermissions.1.IpProtocol", "ICMP", "IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8")
	before := h.sim.Snapshot()

	// Restart: a new simulator on the same file sees the same state,
	// including the pending transitions, which still complete on time.
	h2 := newHarness(t, Options{StatePath: path, Now: clk.Now})
	after := h2.sim.Snapshot()
	if !reflect.DeepEqual(jsonOf(t, before), jsonOf(t, after)) {
		t.Fatalf("state differs after restart:\n%s\n%s", jsonOf(t, before), jsonOf(t, after))
	}
	if volItem(t, h2, vol).text("status") != "creating" {
		t.Fatal("pending create lost")
	}
	clk.Advance(time.Minute)
	if volItem(t, h2, vol).text("status") != "in-use" {
		t.Fatal("transition did not complete after restart")
	}
	m := h2.ok("NiftyDescribeElasticLoadBalancers").text("NiftyDescribeElasticLoadBalancersResult/ElasticLoadBalancerDescriptions/member/State")
	if m != "available" {
		t.Fatalf("elb state = %s", m)
	}
	if got := h2.ok("DescribeLoadBalancers").text("DescribeLoadBalancersResult/LoadBalancerDescriptions/member/Instances/member/InstanceId"); got != "n1" {
		t.Fatalf("LB instances = %q", got)
	}
	// Admin-side mutations persist too.
	if err := h2.sim.SetInstanceState("n1", "stopped"); err != nil {
		t.Fatal(err)
	}
	h3 := newHarness(t, Options{StatePath: path, Now: clk.Now})
	if h3.sim.Snapshot().Instances["n1"].State != "stopped" {
		t.Fatal("admin mutation not persisted")
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSnapshotIsDeepCopy(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "n1"})
	h.ok("CreateVolume", "Size", "100", "InstanceId", "n1")
	snap := h.sim.Snapshot()
	for _, v := range snap.Volumes {
		v.Size = 1
		v.Attachment.Slot = 99
	}
	snap.Instances["n1"].State = "stopped"
	again := h.sim.Snapshot()
	for _, v := range again.Volumes {
		if v.Size != 100 || v.Attachment.Slot != 1 {
			t.Fatal("snapshot aliased volume state")
		}
	}
	if again.Instances["n1"].State != "running" {
		t.Fatal("snapshot aliased instance state")
	}
}

func TestConcurrentRequests(t *testing.T) {
	h := newHarness(t, Options{StatePath: filepath.Join(t.TempDir(), "s.json")})
	const workers = 8
	for i := 0; i < workers; i++ {
		seed(t, h.sim, Instance{InstanceID: fmt.Sprintf("n%d", i), SecurityGroup: "k8s"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*10)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			inst := fmt.Sprintf("n%d", i)
			for j := 0; j < 3; j++ {
				resp, body := h.post(form("CreateVolume", "Size", "100", "InstanceId", inst))
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("create: %d %s", resp.StatusCode, body)
				}
				if resp, body = h.post(form("DescribeVolumes")); resp.StatusCode != 200 {
					errs <- fmt.Errorf("describe: %d %s", resp.StatusCode, body)
				}
			}
			lb := fmt.Sprintf("lb%d", i)
			resp, body := h.post(form("CreateLoadBalancer", "LoadBalancerName", lb,
				"Listeners.member.1.LoadBalancerPort", "80", "Listeners.member.1.InstancePort", "30080"))
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("lb: %d %s", resp.StatusCode, body)
			}
			resp, body = h.post(form("AuthorizeSecurityGroupIngress", "GroupName", "k8s", "IpPermissions.1.IpProtocol", "TCP",
				"IpPermissions.1.FromPort", fmt.Sprint(30000+i), "IpPermissions.1.IpRanges.1.CidrIp", "10.0.0.0/8"))
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("sg: %d %s", resp.StatusCode, body)
			}
			_ = h.sim.Snapshot()
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := h.sim.Snapshot()
	if len(st.Volumes) != workers*3 || len(st.LoadBalancers) != workers || len(st.SecurityGroups["k8s"].Rules) != workers {
		t.Fatalf("volumes %d, lbs %d, rules %d", len(st.Volumes), len(st.LoadBalancers), len(st.SecurityGroups["k8s"].Rules))
	}
	vips := map[string]bool{}
	for _, lb := range st.LoadBalancers {
		if vips[lb.DNSName] {
			t.Fatalf("VIP %s allocated twice", lb.DNSName)
		}
		vips[lb.DNSName] = true
	}
	if got := h.sim.Controls().Count("CreateVolume"); got != workers*3 {
		t.Fatalf("CreateVolume counter = %d", got)
	}
}
