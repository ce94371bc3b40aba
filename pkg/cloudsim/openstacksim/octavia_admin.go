package openstacksim

import "fmt"

// SetLoadBalancerStatus forces a load balancer's provisioning status, as
// a failed amphora leaves it in ERROR behind the controller's back.
func (s *Sim) SetLoadBalancerStatus(id, status string) error {
	var err error
	s.mutate(func() {
		lb := s.state.LoadBalancers[id]
		if lb == nil || status == "" {
			err = fmt.Errorf("openstacksim: load balancer %q not found or empty status", id)
			return
		}
		lb.ProvisioningStatus, lb.Pending, lb.Updated = status, nil, s.now()
	})
	return err
}
