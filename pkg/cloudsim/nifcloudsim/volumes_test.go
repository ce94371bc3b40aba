package nifcloudsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func volItem(t *testing.T, h *harness, id string) *xnode {
	t.Helper()
	return h.ok("DescribeVolumes", "VolumeId.1", id).one(t, "volumeSet/item")
}

func TestVolumeLifecycleWithTransitions(t *testing.T) {
	clk := newFakeClock()
	h := newHarness(t, Options{Now: clk.Now})
	seed(t, h.sim,
		Instance{InstanceID: "n1", InstanceUniqueID: "i-n1n1n1n1", Zone: "east-11"},
		Instance{InstanceID: "n2", Zone: "east-11"},
		Instance{InstanceID: "far", Zone: "east-12"})
	setTransitions(h.sim, map[string]time.Duration{
		"volume.create": 10 * time.Second, "volume.attach": 5 * time.Second,
		"volume.detach": 5 * time.Second, "volume.extend": 7 * time.Second,
	})

	n := h.ok("CreateVolume", "Size", "100", "DiskType", "6", "AccountingType", "2",
		"InstanceId", "n1", "Description", "pvc-0123")
	id := n.text("volumeId")
	if len(id) != 8 || n.text("status") != "creating" || n.text("size") != "100" || n.text("availabilityZone") != "east-11" ||
		!strings.HasPrefix(n.text("volumeUniqueId"), "vol-") || n.text("createTime") == "" {
		t.Fatalf("CreateVolume response: %+v", n)
	}
	v := volItem(t, h, id)
	if v.text("status") != "creating" || v.text("attachmentSet/item/status") != "attaching" {
		t.Fatalf("while creating: %s / %s", v.text("status"), v.text("attachmentSet/item/status"))
	}
	h.fail(http.StatusBadRequest, CodeVolumeProcessing, "DetachVolume", "VolumeId", id, "InstanceId", "n1", "Agreement", "true")
	h.fail(http.StatusBadRequest, CodeVolumeProcessing, "DeleteVolume", "VolumeId", id)

	clk.Advance(10 * time.Second)
	v = volItem(t, h, id)
	for path, want := range map[string]string{
		"status": "in-use", "size": "100", "diskType": "6", "description": "pvc-0123", "accountingType": "2",
		"attachmentSet/item/instanceId": "n1", "attachmentSet/item/instanceUniqueId": "i-n1n1n1n1",
		"attachmentSet/item/device": "SCSI (0:1)", "attachmentSet/item/status": "attached",
	} {
		if got := v.text(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if v.text("attachmentSet/item/attachTime") == "" {
		t.Error("no attachTime")
	}
	a := h.ok("DescribeInstanceAttribute", "InstanceId", "n1", "Attribute", "blockDeviceMapping")
	if a.text("instanceUniqueId") != "i-n1n1n1n1" || a.text("blockDeviceMapping/item/deviceName") != "SCSI (0:1)" ||
		a.text("blockDeviceMapping/item/ebs/volumeId") != id || a.text("blockDeviceMapping/item/ebs/status") != "attached" ||
		a.text("blockDeviceMapping/item/ebs/volumeUniqueId") != v.text("volumeUniqueId") {
		t.Fatalf("blockDeviceMapping: %+v", a)
	}

	h.fail(http.StatusBadRequest, CodeVolumeAlreadyAttached, "AttachVolume", "VolumeId", id, "InstanceId", "n2")
	h.fail(http.StatusBadRequest, CodeVolumeInUse, "DeleteVolume", "VolumeId", id)
	h.fail(http.StatusBadRequest, CodeAgreementRequired, "DetachVolume", "VolumeId", id, "InstanceId", "n1")
	h.fail(http.StatusBadRequest, CodeAgreementRequired, "DetachVolume", "VolumeId", id, "InstanceId", "n1", "Agreement", "false")
	h.fail(http.StatusBadRequest, CodeVolumeDetached, "DetachVolume", "VolumeId", id, "InstanceId", "n2", "Agreement", "true")
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "DetachVolume", "VolumeId", id, "InstanceId", "ghost", "Agreement", "true")

	// Extend while attached: attachment goes "attaching" and the size grows at the end.
	h.ok("ExtendVolumeSize", "VolumeId", id, "NiftyReboot", "false")
	v = volItem(t, h, id)
	if v.text("attachmentSet/item/status") != "attaching" || v.text("size") != "100" {
		t.Fatalf("during extend: %s %s", v.text("attachmentSet/item/status"), v.text("size"))
	}
	h.fail(http.StatusBadRequest, CodeVolumeProcessing, "ExtendVolumeSize", "VolumeId", id)
	clk.Advance(7 * time.Second)
	v = volItem(t, h, id)
	if v.text("attachmentSet/item/status") != "attached" || v.text("size") != "200" {
		t.Fatalf("after extend: %s %s", v.text("attachmentSet/item/status"), v.text("size"))
	}
	h.fail(http.StatusBadRequest, CodeInvalidParameterValue+".NiftyReboot", "ExtendVolumeSize", "VolumeId", id, "NiftyReboot", "maybe")

	// Detach.
	d := h.ok("DetachVolume", "VolumeId", id, "InstanceId", "n1", "Agreement", "true")
	if d.text("status") != "detaching" || d.text("device") != "SCSI (0:1)" || d.text("instanceUniqueId") != "i-n1n1n1n1" {
		t.Fatalf("DetachVolume response: %+v", d)
	}
	if volItem(t, h, id).text("attachmentSet/item/status") != "detaching" {
		t.Fatal("not detaching")
	}
	clk.Advance(5 * time.Second)
	v = volItem(t, h, id)
	if v.text("status") != "available" || len(v.all("attachmentSet/item")) != 0 {
		t.Fatalf("after detach: %s, %d attachments", v.text("status"), len(v.all("attachmentSet/item")))
	}
	h.fail(http.StatusBadRequest, CodeVolumeDetached, "DetachVolume", "VolumeId", id, "InstanceId", "n1", "Agreement", "true")

	// Attach to another instance in the zone; the other zone is refused.
	h.fail(http.StatusBadRequest, CodeInvalidParameterValue+".InstanceId", "AttachVolume", "VolumeId", id, "InstanceId", "far")
	h.fail(http.StatusBadRequest, CodeInstanceNotFound, "AttachVolume", "VolumeId", id, "InstanceId", "ghost")
	at := h.ok("AttachVolume", "VolumeId", id, "InstanceId", "n2")
	if at.text("status") != "attaching" || at.text("instanceId") != "n2" || at.text("device") != "SCSI (0:1)" {
		t.Fatalf("AttachVolume response: %+v", at)
	}
	clk.Advance(5 * time.Second)
	if volItem(t, h, id).text("attachmentSet/item/status") != "attached" {
		t.Fatal("not attached to n2")
	}
	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "n2", "Agreement", "true")
	clk.Advance(5 * time.Second)

	// Delete.
	d = h.ok("DeleteVolume", "VolumeId", id)
	if d.text("return") != "true" {
		t.Fatal("DeleteVolume return")
	}
	h.fail(http.StatusBadRequest, CodeVolumeNotFound, "DescribeVolumes", "VolumeId.1", id)
	h.fail(http.StatusBadRequest, CodeVolumeNotFound, "DeleteVolume", "VolumeId", id)
	h.fail(http.StatusBadRequest, CodeVolumeNotFound, "AttachVolume", "VolumeId", id, "InstanceId", "n1")
	h.fail(http.StatusBadRequest, CodeVolumeNotFound, "ExtendVolumeSize", "VolumeId", id)
}

func TestVolumeTransitionsRealTime(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "n1"})
	setTransitions(h.sim, map[string]time.Duration{"*": 40 * time.Millisecond})
	id := h.ok("CreateVolume", "Size", "100", "InstanceId", "n1").text("volumeId")
	if s := volItem(t, h, id).text("status"); s != "creating" {
		t.Fatalf("status = %s", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for volItem(t, h, id).text("status") != "in-use" {
		if time.Now().After(deadline) {
			t.Fatal("volume never became in-use")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCreateVolumeValidation(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "n1", InstanceUniqueID: "i-uniq0001"}, Instance{InstanceID: "off", State: "pending"})
	cases := []struct {
		code string
		kv   []string
	}{
		{CodeMissingParameter, []string{"Size", "100"}},
		{CodeInstanceNotFound, []string{"Size", "100", "InstanceId", "ghost"}},
		{CodeInstanceNotFound, []string{"Size", "100", "InstanceUniqueId", "i-ghost"}},
		{CodeInstanceInoperable, []string{"Size", "100", "InstanceId", "off"}},
		{CodeInvalidVolumeSize, []string{"InstanceId", "n1"}},
		{CodeInvalidVolumeSize, []string{"Size", "150", "InstanceId", "n1"}},
		{CodeInvalidVolumeSize, []string{"Size", "0", "InstanceId", "n1"}},
		{CodeInvalidVolumeSize, []string{"Size", "8100", "InstanceId", "n1"}},
		{CodeInvalidVolumeSize, []string{"Size", "1200", "InstanceId", "n1", "DiskType", "5"}},
		{CodeInvalidDiskType, []string{"Size", "100", "InstanceId", "n1", "DiskType", "1"}},
		{CodeInvalidDiskType, []string{"Size", "100", "InstanceId", "n1", "DiskType", "10"}},
		{CodeInvalidAccountingType, []string{"Size", "100", "InstanceId", "n1", "AccountingType", "3"}},
		{CodeDescriptionTooLong, []string{"Size", "100", "InstanceId", "n1", "Description", strings.Repeat("x", 41)}},
		{CodeInvalidVolumeIDPattern, []string{"Size", "100", "InstanceId", "n1", "VolumeId", "bad id!"}},
	}
	for _, c := range cases {
		h.fail(http.StatusBadRequest, c.code, "CreateVolume", c.kv...)
	}
	// 40 characters exactly (a PV name) is fine; InstanceUniqueId works; VolumeId is honoured.
	pv := "pvc-" + strings.Repeat("a", 36)
	n := h.ok("CreateVolume", "Size", "8000", "InstanceUniqueId", "i-uniq0001", "Description", pv, "VolumeId", "myvol01")
	if n.text("volumeId") != "myvol01" || n.text("description") != pv || n.text("size") != "8000" {
		t.Fatalf("create: %+v", n)
	}
	h.fail(http.StatusBadRequest, CodeVolumeDuplicate, "CreateVolume", "Size", "100", "InstanceId", "n1", "VolumeId", "myvol01")
	if volItem(t, h, "myvol01").text("diskType") != "2" {
		t.Fatal("default DiskType")
	}
	h.fail(http.StatusBadRequest, CodeVolumeSizeLimit, "ExtendVolumeSize", "VolumeId", "myvol01")
	h.fail(http.StatusBadRequest, CodeMissingParameter, "ExtendVolumeSize")
	h.fail(http.StatusBadRequest, CodeVolumeNotFound, "DescribeVolumes", "VolumeId.1", "ghost")
}

func TestSCSISlotsPerInstance(t *testing.T) {
	h := newHarness(t, Options{})
	seed(t, h.sim, Instance{InstanceID: "n1"}, Instance{InstanceID: "n2"})
	var first string
	for i := 1; i <= maxSCSISlot; i++ {
		id := h.ok("CreateVolume", "Size", "100", "InstanceId", "n1").text("volumeId")
		if i == 1 {
			first = id
		}
		if dev := volItem(t, h, id).text("attachmentSet/item/device"); dev != fmt.Sprintf("SCSI (0:%d)", i) {
			t.Fatalf("volume %d device %s", i, dev)
		}
	}
	h.fail(http.StatusBadRequest, CodeInstanceVolumeLimit, "CreateVolume", "Size", "100", "InstanceId", "n1")
	// Another instance has its own slots.
	id := h.ok("CreateVolume", "Size", "100", "InstanceId", "n2").text("volumeId")
	if volItem(t, h, id).text("attachmentSet/item/device") != "SCSI (0:1)" {
		t.Fatal("n2 slot")
	}
	// A freed slot is reused (lowest free first).
	h.ok("DetachVolume", "VolumeId", first, "InstanceId", "n1", "Agreement", "true")
	h.ok("DetachVolume", "VolumeId", id, "InstanceId", "n2", "Agreement", "true")
	at := h.ok("AttachVolume", "VolumeId", id, "InstanceId", "n1")
	if at.text("device") != "SCSI (0:1)" {
		t.Fatalf("reused slot = %s", at.text("device"))
	}
	h.fail(http.StatusBadRequest, CodeInstanceVolumeLimit, "AttachVolume", "VolumeId", first, "InstanceId", "n1")
	if n := len(h.ok("DescribeVolumes").all("volumeSet/item")); n != 15 {
		t.Fatalf("DescribeVolumes all = %d", n)
	}
	// Deleting an instance frees its volumes.
	if err := h.sim.DeleteInstance("n1"); err != nil {
		t.Fatal(err)
	}
	if st := volItem(t, h, id).text("status"); st != "available" {
		t.Fatalf("after instance delete: %s", st)
	}
}
