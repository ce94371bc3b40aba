package nifclouddisk

import (
	"context"
	"testing"
	"time"
)

func TestSweeperRemovesOnlyStrandedDisks(t *testing.T) {
	const grace = 300 * time.Millisecond
	e := newEnv(t, 5*time.Millisecond, func(o *Options) {
		o.CreationWindow = window
		o.SweepGrace = grace
		o.SweepInterval = 20 * time.Millisecond
	})
	// Published by a node: attached after the creation.
	published := e.create("pvc-published", 100)
	time.Sleep(2 * window)
	if _, err := e.disks.AttachDisk(e.ctx, published.ID, "ctrl"); err != nil {
		t.Fatal(err)
	}
	// Created by a controller that died before the detach.
	stranded := VolumeIDFor("pvc-stranded")
	// Not kumo's, attached to its creation host too.
	for _, in := range [][2]string{{"pvc-stranded", stranded}, {"pvc-x", "foreign01"}} {
		if _, err := e.api.CreateVolume(e.ctx, createInput(in[0], in[1])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.disks.waitSettled(e.ctx, in[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	// Too young: nothing is touched.
	e.counts()
	if n, err := e.disks.sweep(e.ctx); n != 0 || err != nil {
		t.Fatalf("early sweep = %d, %v", n, err)
	}
	wantCounts(t, e.counts(), map[string]int64{"DescribeVolumes": 1, "DetachVolume": 0, "DeleteVolume": 0})
	young := VolumeIDFor("pvc-young")

	time.Sleep(grace)
	if _, err := e.api.CreateVolume(e.ctx, createInput("pvc-young", young)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	e.disks.StartSweeper(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for e.volumes()[stranded] != nil {
		if time.Now().After(deadline) {
			t.Fatalf("stranded disk not swept: %+v", e.volumes()[stranded])
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	vols := e.volumes()
	if a := vols[published.ID].Attachment; a == nil || a.InstanceID != "ctrl" {
		t.Errorf("published disk touched: %+v", vols[published.ID])
	}
	if a := vols["foreign01"].Attachment; a == nil || a.InstanceID != "ctrl" {
		t.Errorf("foreign disk touched: %+v", vols["foreign01"])
	}
	if vols[young] == nil {
		t.Errorf("disk younger than the grace was swept")
	}
}
