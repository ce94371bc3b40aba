package nifcloudsim

import (
	"fmt"
	"strings"
	"time"
)

// stateCode returns the EC2-style code NIFCLOUD reports for a state.
func stateCode(state string) (int, bool) {
	switch state {
	case "running":
		return 16, true
	case "stopped":
		return 80, true
	case "stopping":
		return 64, true
	case "pending":
		return 0, true
	}
	return 0, false
}

// defaultZone maps a region to its first zone (inferred; see the facts doc).
func defaultZone(region string) string {
	switch region {
	case "jp-east-1":
		return "east-11"
	case "jp-east-2":
		return "east-21"
	case "jp-east-3":
		return "east-31"
	case "jp-east-4":
		return "east-41"
	case "jp-west-1":
		return "west-11"
	case "jp-west-2":
		return "jp-west-21"
	case "us-east-1":
		return "us-east-11"
	}
	return "east-11"
}

// AddInstance seeds an instance. InstanceUniqueID defaults to a generated
// "i-xxxxxxxx", Zone to the region's first zone, State to "running",
// InstanceType to "e-medium", PrivateIP to a generated 10.100.x.y.
func (s *Sim) AddInstance(in Instance) error {
	return s.mutate(func(now time.Time) error { return s.addInstanceLocked(in, now) })
}

func (s *Sim) addInstanceLocked(in Instance, now time.Time) error {
	in.InstanceID = strings.TrimSpace(in.InstanceID)
	if in.InstanceID == "" {
		return fmt.Errorf("instanceId is required")
	}
	if _, ok := s.st.Instances[in.InstanceID]; ok {
		return fmt.Errorf("instance %q already exists", in.InstanceID)
	}
	if in.InstanceUniqueID == "" {
		in.InstanceUniqueID = uniqueID("i-", func(id string) bool { return s.findByUniqueLocked(id) != nil })
	} else if s.findByUniqueLocked(in.InstanceUniqueID) != nil {
		return fmt.Errorf("instanceUniqueId %q already exists", in.InstanceUniqueID)
	}
	if in.State == "" {
		in.State = "running"
	}
	if _, ok := stateCode(in.State); !ok {
		return fmt.Errorf("unknown instance state %q", in.State)
	}
	if in.Zone == "" {
		in.Zone = defaultZone(s.region)
	}
	if in.InstanceType == "" {
		in.InstanceType = "e-medium"
	}
	if in.PrivateIP == "" {
		s.st.Seq++
		in.PrivateIP = fmt.Sprintf("10.100.%d.%d", (s.st.Seq/250)%250, s.st.Seq%250+1)
	}
	if in.LaunchTime.IsZero() {
		in.LaunchTime = now
	}
	inst := in
	s.st.Instances[in.InstanceID] = &inst
	s.ensureGroupLocked(in.SecurityGroup, in.Zone)
	return nil
}

// SetInstanceState sets "running" or "stopped" (or another known state).
func (s *Sim) SetInstanceState(instanceID, state string) error {
	return s.mutate(func(time.Time) error {
		in, ok := s.st.Instances[instanceID]
		if !ok {
			return fmt.Errorf("instance %q not found", instanceID)
		}
		if _, ok := stateCode(state); !ok {
			return fmt.Errorf("unknown instance state %q", state)
		}
		in.State = state
		return nil
	})
}

// DeleteInstance removes an instance. Its volumes are detached (they become
// available) and it is removed from every load balancer.
func (s *Sim) DeleteInstance(instanceID string) error {
	return s.mutate(func(time.Time) error {
		if _, ok := s.st.Instances[instanceID]; !ok {
			return fmt.Errorf("instance %q not found", instanceID)
		}
		delete(s.st.Instances, instanceID)
		for _, v := range s.st.Volumes {
			if v.Attachment != nil && v.Attachment.InstanceID == instanceID {
				v.Attachment = nil
				v.Status = "available"
				v.Op, v.ReadyAt = "", time.Time{}
			}
		}
		for _, lb := range s.st.LoadBalancers {
			for _, l := range lb.Listeners {
				l.Instances = without(l.Instances, instanceID)
			}
		}
		for _, e := range s.st.ElasticLBs {
			for _, l := range e.Listeners {
				l.Instances = without(l.Instances, instanceID)
			}
		}
		return nil
	})
}

func without(list []string, id string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

func (s *Sim) findByUniqueLocked(uid string) *Instance {
	for _, in := range s.st.Instances {
		if in.InstanceUniqueID == uid {
			return in
		}
	}
	return nil
}

// instanceFromParams resolves InstanceId (or, when allowUnique,
// InstanceUniqueId).
func (s *Sim) instanceFromParams(p params, allowUnique bool) (*Instance, *apiError) {
	if id := p.str("InstanceId"); id != "" {
		in, ok := s.st.Instances[id]
		if !ok {
			return nil, errInstanceNotFound(id)
		}
		return in, nil
	}
	if allowUnique {
		if uid := p.str("InstanceUniqueId"); uid != "" {
			in := s.findByUniqueLocked(uid)
			if in == nil {
				return nil, clientErr(CodeInstanceNotFound, "The instance unique ID '%s' does not exist.", uid)
			}
			return in, nil
		}
	}
	return nil, errMissing("InstanceId")
}

func (s *Sim) describeInstances(p params, _ time.Time) (*node, *apiError) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		ids = sortedKeys(s.st.Instances)
	}
	var reservations []*node
	for _, id := range ids {
		in, ok := s.st.Instances[id]
		if !ok {
			return nil, errInstanceNotFound(id)
		}
		reservations = append(reservations, group(
			tx("reservationId", ""),
			tx("ownerId", ""),
			items("groupSet", groupSetOf(in)),
			items("instancesSet", []*node{s.instanceNode(in)}),
		))
	}
	return group(items("reservationSet", reservations)), nil
}

func groupSetOf(in *Instance) []*node {
	if in.SecurityGroup == "" {
		return nil
	}
	return []*node{group(tx("groupId", in.SecurityGroup))}
}

func (s *Sim) instanceNode(in *Instance) *node {
	code, _ := stateCode(in.State)
	nics := []*node{group(
		tx("niftyNetworkId", "net-COMMON_PRIVATE"),
		tx("status", "in-use"),
		tx("privateIpAddress", in.PrivateIP),
		el("attachment", tx("deviceIndex", 0), tx("status", "attached"), tx("deleteOnTermination", true)),
	)}
	if in.PublicIP != "" {
		nics = append([]*node{group(
			tx("niftyNetworkId", "net-COMMON_GLOBAL"),
			tx("status", "in-use"),
			el("attachment", tx("deviceIndex", 0), tx("status", "attached"), tx("deleteOnTermination", true)),
			el("association", tx("publicIp", in.PublicIP), tx("publicDnsName", ""), tx("ipOwnerId", "")),
		)}, nics...)
	}
	return group(
		tx("instanceId", in.InstanceID),
		tx("instanceUniqueId", in.InstanceUniqueID),
		el("instanceState", tx("code", code), tx("name", in.State)),
		tx("privateDnsName", in.PrivateIP),
		tx("dnsName", in.PublicIP),
		tx("instanceType", in.InstanceType),
		tx("launchTime", in.LaunchTime),
		el("placement", tx("availabilityZone", in.Zone)),
		tx("privateIpAddress", in.PrivateIP),
		tx("ipAddress", in.PublicIP),
		tx("rootDeviceType", "disk"),
		// InstancesSet.blockDeviceMapping lists the attached volumes, as
		// DescribeInstanceAttribute does.
		items("blockDeviceMapping", s.blockDevicesLocked(in.InstanceID)),
		tx("accountingType", "2"),
		tx("ipType", "static"),
		tx("niftyPrivateIpType", "static"),
		items("networkInterfaceSet", nics),
	)
}

func (s *Sim) describeInstanceAttribute(p params, _ time.Time) (*node, *apiError) {
	in, e := s.instanceFromParams(p, false)
	if e != nil {
		return nil, e
	}
	attr, e := p.req("Attribute")
	if e != nil {
		return nil, e
	}
	out := group(tx("instanceId", in.InstanceID), tx("instanceUniqueId", in.InstanceUniqueID))
	switch attr {
	case "blockDeviceMapping":
		out.add(items("blockDeviceMapping", s.blockDevicesLocked(in.InstanceID)))
	case "instanceType":
		out.add(el("instanceType", tx("value", in.InstanceType)))
	case "availabilityZone":
		out.add(el("availabilityZone", tx("value", in.Zone)))
	case "instanceState":
		out.add(el("instanceState", tx("value", in.State)))
	case "groupId":
		out.add(el("groupId", tx("value", in.SecurityGroup)))
	default:
		return nil, errInvalid("Attribute", attr)
	}
	return out, nil
}

// blockDevicesLocked is the BlockDeviceMapping items of the volumes
// attached to instanceID.
func (s *Sim) blockDevicesLocked(instanceID string) []*node {
	var devs []*node
	for _, id := range sortedKeys(s.st.Volumes) {
		v := s.st.Volumes[id]
		a := v.Attachment
		if a == nil || a.InstanceID != instanceID {
			continue
		}
		devs = append(devs, group(
			tx("deviceName", scsiDevice(a.Slot)),
			el("ebs",
				tx("volumeId", v.VolumeID),
				tx("volumeUniqueId", v.VolumeUniqueID),
				tx("status", a.Status),
				tx("attachTime", a.AttachTime),
				tx("deleteOnTermination", false),
			),
		))
	}
	return devs
}

func scsiDevice(slot int) string { return fmt.Sprintf("SCSI (0:%d)", slot) }
