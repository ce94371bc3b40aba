package nifcloud

import "context"

// Instance states (instanceState/name) the callers interpret.
const (
	InstanceStateRunning = "running"
	InstanceStateStopped = "stopped"
	InstanceStatePending = "pending"
)

// DescribeInstancesInput selects instances; no InstanceIDs lists all.
type DescribeInstancesInput struct {
	// InstanceIDs are user-chosen instance names (InstanceId.N).
	InstanceIDs []string
}

// DescribeInstancesOutput is the EC2-style DescribeInstancesResponse.
type DescribeInstancesOutput struct {
	EC2Response
	Reservations []Reservation `xml:"reservationSet>item"`
}

// Instances flattens the reservations (NIFCLOUD returns one instance per
// reservation).
func (o *DescribeInstancesOutput) Instances() []Instance {
	var out []Instance
	for _, r := range o.Reservations {
		out = append(out, r.Instances...)
	}
	return out
}

// Reservation is reservationSet/item.
type Reservation struct {
	Instances []Instance `xml:"instancesSet>item"`
}

// Instance is reservationSet/item/instancesSet/item.
type Instance struct {
	// InstanceID is the user-chosen name (node name in Kubernetes).
	InstanceID string `xml:"instanceId"`
	// InstanceUniqueID is the system id, e.g. i-abcd1234.
	InstanceUniqueID string        `xml:"instanceUniqueId"`
	InstanceType     string        `xml:"instanceType"`
	ImageID          string        `xml:"imageId"`
	State            InstanceState `xml:"instanceState"`
	// IPAddress is the public address, PrivateIPAddress the private one.
	IPAddress         string                     `xml:"ipAddress"`
	PrivateIPAddress  string                     `xml:"privateIpAddress"`
	Placement         Placement                  `xml:"placement"`
	NetworkInterfaces []InstanceNetworkInterface `xml:"networkInterfaceSet>item"`
	// AccountingType is <accountingType> (model shape InstancesSet).
	AccountingType string `xml:"accountingType"`
	IPType         string `xml:"ipType"`
	Description    string `xml:"description"`
	LaunchTime     string `xml:"launchTime"`
}

// InstanceState is instanceState.
type InstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

// Placement is placement.
type Placement struct {
	AvailabilityZone string `xml:"availabilityZone"`
}

// InstanceNetworkInterface is networkInterfaceSet/item.
type InstanceNetworkInterface struct {
	NetworkID        string `xml:"niftyNetworkId"`
	NetworkName      string `xml:"niftyNetworkName"`
	Status           string `xml:"status"`
	MACAddress       string `xml:"macAddress"`
	PrivateIPAddress string `xml:"privateIpAddress"`
	PublicIP         string `xml:"association>publicIp"`
}

// DescribeInstances lists instances (all, or those named in in.InstanceIDs).
// An unknown id fails with Client.InvalidParameterNotFound.Instance.
func (c *Client) DescribeInstances(ctx context.Context, in *DescribeInstancesInput) (*DescribeInstancesOutput, error) {
	f := NewForm("DescribeInstances")
	if in != nil {
		f.Strings("InstanceId", in.InstanceIDs)
	}
	out := &DescribeInstancesOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AttributeBlockDeviceMapping is the DescribeInstanceAttribute attribute
// the CSI driver reads.
const AttributeBlockDeviceMapping = "blockDeviceMapping"

// DescribeInstanceAttributeInput names an instance and one attribute.
type DescribeInstanceAttributeInput struct {
	InstanceID string
	// Attribute defaults to blockDeviceMapping.
	Attribute string
}

// DescribeInstanceAttributeOutput is the EC2-style
// DescribeInstanceAttributeResponse (blockDeviceMapping attribute).
type DescribeInstanceAttributeOutput struct {
	EC2Response
	InstanceID          string               `xml:"instanceId"`
	InstanceUniqueID    string               `xml:"instanceUniqueId"`
	BlockDeviceMappings []BlockDeviceMapping `xml:"blockDeviceMapping>item"`
}

// BlockDeviceMapping is blockDeviceMapping/item.
type BlockDeviceMapping struct {
	// DeviceName looks like "SCSI (0:1)".
	DeviceName string         `xml:"deviceName"`
	EBS        EBSBlockDevice `xml:"ebs"`
}

// EBSBlockDevice is blockDeviceMapping/item/ebs.
type EBSBlockDevice struct {
	VolumeID       string `xml:"volumeId"`
	VolumeUniqueID string `xml:"volumeUniqueId"`
	Status         string `xml:"status"`
	AttachTime     string `xml:"attachTime"`
}

// DescribeInstanceAttribute returns one attribute of an instance; the
// client decodes blockDeviceMapping and instanceUniqueId.
func (c *Client) DescribeInstanceAttribute(ctx context.Context, in *DescribeInstanceAttributeInput) (*DescribeInstanceAttributeOutput, error) {
	attr := in.Attribute
	if attr == "" {
		attr = AttributeBlockDeviceMapping
	}
	f := NewForm("DescribeInstanceAttribute").Set("InstanceId", in.InstanceID).Set("Attribute", attr)
	out := &DescribeInstanceAttributeOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}
