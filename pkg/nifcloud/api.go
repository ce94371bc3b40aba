package nifcloud

import "context"

// API is the set of computing API calls kumo uses. The cloud-controller-
// manager and the CSI driver depend on this interface, not on *Client, so
// tests can substitute fakes. Every method honours ctx (cancellation ends
// retries) and returns *APIError (see IsNotFound, IsDuplicate, IsCode) for
// errors answered by the API.
type API interface {
	// Instances.
	DescribeInstances(ctx context.Context, in *DescribeInstancesInput) (*DescribeInstancesOutput, error)
	DescribeInstanceAttribute(ctx context.Context, in *DescribeInstanceAttributeInput) (*DescribeInstanceAttributeOutput, error)

	// Volumes.
	CreateVolume(ctx context.Context, in *CreateVolumeInput) (*CreateVolumeOutput, error)
	DescribeVolumes(ctx context.Context, in *DescribeVolumesInput) (*DescribeVolumesOutput, error)
	AttachVolume(ctx context.Context, in *AttachVolumeInput) (*VolumeAttachmentOutput, error)
	DetachVolume(ctx context.Context, in *DetachVolumeInput) (*VolumeAttachmentOutput, error)
	DeleteVolume(ctx context.Context, volumeID string) (*ReturnOutput, error)
	ExtendVolumeSize(ctx context.Context, in *ExtendVolumeSizeInput) (*ReturnOutput, error)

	// L4 load balancers.
	DescribeLoadBalancers(ctx context.Context, in *DescribeLoadBalancersInput) (*DescribeLoadBalancersOutput, error)
	CreateLoadBalancer(ctx context.Context, in *CreateLoadBalancerInput) (*CreateLoadBalancerOutput, error)
	RegisterPortWithLoadBalancer(ctx context.Context, in *RegisterPortWithLoadBalancerInput) (*ELBOutput, error)
	ConfigureHealthCheck(ctx context.Context, in *ConfigureHealthCheckInput) (*ELBOutput, error)
	SetFilterForLoadBalancer(ctx context.Context, in *SetFilterForLoadBalancerInput) (*ELBOutput, error)
	RegisterInstancesWithLoadBalancer(ctx context.Context, in *LoadBalancerInstancesInput) (*RegisterInstancesWithLoadBalancerOutput, error)
	DeregisterInstancesFromLoadBalancer(ctx context.Context, in *LoadBalancerInstancesInput) (*DeregisterInstancesFromLoadBalancerOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *ListenerKey) (*ELBOutput, error)
	UpdateLoadBalancer(ctx context.Context, in *UpdateLoadBalancerInput) (*ELBOutput, error)

	// Elastic load balancers.
	NiftyDescribeElasticLoadBalancers(ctx context.Context, in *DescribeElasticLoadBalancersInput) (*DescribeElasticLoadBalancersOutput, error)
	NiftyCreateElasticLoadBalancer(ctx context.Context, in *CreateElasticLoadBalancerInput) (*CreateElasticLoadBalancerOutput, error)
	NiftyRegisterPortWithElasticLoadBalancer(ctx context.Context, in *RegisterPortWithElasticLoadBalancerInput) (*ELBOutput, error)
	NiftyConfigureElasticLoadBalancerHealthCheck(ctx context.Context, in *ConfigureElasticLoadBalancerHealthCheckInput) (*ELBOutput, error)
	NiftyRegisterInstancesWithElasticLoadBalancer(ctx context.Context, in *ElasticLoadBalancerInstancesInput) (*ELBOutput, error)
	NiftyDeregisterInstancesFromElasticLoadBalancer(ctx context.Context, in *ElasticLoadBalancerInstancesInput) (*ELBOutput, error)
	NiftyDeleteElasticLoadBalancer(ctx context.Context, in *ELBListenerKey) (*ELBOutput, error)
	NiftyUpdateElasticLoadBalancer(ctx context.Context, in *UpdateElasticLoadBalancerInput) (*ELBOutput, error)
	NiftyModifyElasticLoadBalancerAttributes(ctx context.Context, in *ModifyElasticLoadBalancerAttributesInput) (*ELBOutput, error)

	// Security groups.
	DescribeSecurityGroups(ctx context.Context, in *DescribeSecurityGroupsInput) (*DescribeSecurityGroupsOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *SecurityGroupIngressInput) (*ReturnOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *SecurityGroupIngressInput) (*ReturnOutput, error)

	// Private LANs.
	NiftyDescribePrivateLans(ctx context.Context, in *DescribePrivateLansInput) (*DescribePrivateLansOutput, error)
}
