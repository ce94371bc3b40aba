package nifcloud

import "context"

// Private LANs (NiftyDescribePrivateLans, EC2 response style). The elastic
// load balancer's network interfaces refer to them by network id; the
// shared networks NetworkCommonGlobal and NetworkCommonPrivate are not
// private LANs and are never listed.

// DescribePrivateLansInput selects private LANs by network id
// (NetworkId.N) or name (PrivateLanName.N); both empty lists all.
type DescribePrivateLansInput struct {
	NetworkIDs []string
	Names      []string
}

// DescribePrivateLansOutput is NiftyDescribePrivateLansResponse.
type DescribePrivateLansOutput struct {
	EC2Response
	PrivateLans []PrivateLan `xml:"privateLanSet>item"`
}

// PrivateLan is privateLanSet/item.
type PrivateLan struct {
	NetworkID        string `xml:"networkId"`
	PrivateLanName   string `xml:"privateLanName"`
	AvailabilityZone string `xml:"availabilityZone"`
	CIDRBlock        string `xml:"cidrBlock"`
	// State is e.g. available.
	State string `xml:"state"`
}

// NiftyDescribePrivateLans describes private LANs. An unknown network id
// fails with Client.InvalidParameterNotFound.NetworkId (CodeNetworkIDNotFound).
func (c *Client) NiftyDescribePrivateLans(ctx context.Context, in *DescribePrivateLansInput) (*DescribePrivateLansOutput, error) {
	f := NewForm("NiftyDescribePrivateLans")
	if in != nil {
		f.Strings("NetworkId", in.NetworkIDs).Strings("PrivateLanName", in.Names)
	}
	out := &DescribePrivateLansOutput{}
	if err := c.call(ctx, f, out); err != nil {
		return nil, err
	}
	return out, nil
}
