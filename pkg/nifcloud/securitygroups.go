package nifcloud

import "context"

// Security group status values.
const (
	SecurityGroupApplied = "applied"
	InOutIn              = "IN"
	InOutOut             = "OUT"
)

// DescribeSecurityGroupsInput selects groups (GroupName.N); empty lists all.
type DescribeSecurityGroupsInput struct {
	GroupNames []string
}

// DescribeSecurityGroupsOutput is the EC2-style DescribeSecurityGroupsResponse.
type DescribeSecurityGroupsOutput struct {
	EC2Response
	SecurityGroups []SecurityGroup `xml:"securityGroupInfo>item"`
}

// SecurityGroup is securityGroupInfo/item.
type SecurityGroup struct {
	GroupName        string         `xml:"groupName"`
	GroupDescription string         `xml:"groupDescription"`
	GroupStatus      string         `xml:"groupStatus"`
	AvailabilityZone string         `xml:"availabilityZone"`
	IPPermissions    []IPPermission `xml:"ipPermissions>item"`
	// InstanceIDs are instancesSet/item/instanceId.
	InstanceIDs []string `xml:"instancesSet>item>instanceId"`
	// InstanceUniqueIDs are instanceUniqueIdsSet/item/instanceUniqueId.
	InstanceUniqueIDs []string `xml:"instanceUniqueIdsSet>item>instanceUniqueId"`
}

// IPPermission is one rule, as described (ipPermissions/item) and as sent
// (IpPermissions.N.*).
type IPPermission struct {
	// IPProtocol is TCP, UDP, ICMP, ANY, ...
	IPProtocol string `xml:"ipProtocol"`
	FromPort   int    `xml:"fromPort"`
	// ToPort is omitted on the wire when equal to FromPort or zero.
	ToPort int `xml:"toPort"`
	// InOut is IN or OUT.
	InOut       string   `xml:"inOut"`
	CIDRs       []string `xml:"ipRanges>item>cidrIp"`
	GroupNames  []string `xml:"groups>item>groupName"`
	Description string   `xml:"description"`
}

// encode writes one rule; withDescription is false for Revoke, whose model
// shape RequestIpPermissionsOfRevokeSecurityGroupIngress has no Description.
func (p IPPermission) encode(f *Form, withDescription bool) {
	f.Str("IpProtocol", p.IPProtocol).Int("FromPort", p.FromPort)
	if p.ToPort != p.FromPort {
		f.Int("ToPort", p.ToPort)
	}
	f.Str("InOut", p.InOut)
	if withDescription {
		f.Str("Description", p.Description)
	}
	for i, cidr := range p.CIDRs {
		f.Item("IpRanges", i).Set("CidrIp", cidr)
	}
	for i, g := range p.GroupNames {
		f.Item("Groups", i).Set("GroupName", g)
	}
}

// DescribeSecurityGroups describes security groups. An unknown name fails
// with Client.InvalidParameterNotFound.SecurityGroup.
func (c *Client) DescribeSecurityGroups(ctx context.Context, in *DescribeSecurityGroupsInput) (*DescribeSecurityGroupsOutput, error) {
	f := NewForm("DescribeSecurityGroups")
	if in != nil {
		f.Strings("GroupName", in.GroupNames)
	}
	out := &DescribeSecurityGroupsOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}

// SecurityGroupIngressInput adds or removes rules of a group.
type SecurityGroupIngressInput struct {
	GroupName     string
	IPPermissions []IPPermission
}

func (in *SecurityGroupIngressInput) form(action string) *Form {
	f := NewForm(action).Set("GroupName", in.GroupName)
	for i, p := range in.IPPermissions {
		p.encode(f.Item("IpPermissions", i), action != "RevokeSecurityGroupIngress")
	}
	return f
}

// AuthorizeSecurityGroupIngress adds rules. An existing rule fails with a
// Client.InvalidParameterDuplicate.* code.
func (c *Client) AuthorizeSecurityGroupIngress(ctx context.Context, in *SecurityGroupIngressInput) (*ReturnOutput, error) {
	out := &ReturnOutput{}
	if err := c.call(ctx, in.form("AuthorizeSecurityGroupIngress"), out); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeSecurityGroupIngress removes rules. A missing rule fails with
// Client.InvalidParameterNotFound.SecurityGroupIngress.
// docs.nifcloud.com/cp/api/RevokeSecurityGroupIngress.htm: GroupName and
// IpPermissions.n.{IpProtocol,FromPort,ToPort,InOut,...}; UserId and
// IpPermissions.n.Groups.m.UserId are not specifiable (kumo never sends them).
func (c *Client) RevokeSecurityGroupIngress(ctx context.Context, in *SecurityGroupIngressInput) (*ReturnOutput, error) {
	out := &ReturnOutput{}
	if err := c.call(ctx, in.form("RevokeSecurityGroupIngress"), out); err != nil {
		return nil, err
	}
	return out, nil
}
