// Command cloud-controller-manager runs the Kubernetes cloud controllers
// (node, node lifecycle, service load balancers, routes) for NIFCLOUD
// (--cloud-provider=nifcloud) and OpenStack (--cloud-provider=openstack).
package main

import (
	"os"

	"k8s.io/apimachinery/pkg/util/wait"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json
	"k8s.io/component-base/metrics/legacyregistry"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // build info metric
	"k8s.io/klog/v2"

	nifcloudccm "github.com/kumo-project/kumo/pkg/ccm/nifcloud"
	openstackccm "github.com/kumo-project/kumo/pkg/ccm/openstack"
	"github.com/kumo-project/kumo/pkg/cloudmetrics"
)

func main() {
	// Every cloud API call is measured (kumo_cloud_api_*) and served on the
	// CCM's /metrics with the controllers' own metrics.
	rec := cloudmetrics.New()
	if err := rec.Register(legacyregistry.Registerer()); err != nil {
		klog.Fatalf("registering cloud API metrics: %v", err)
	}
	nifcloudccm.Register(rec)
	openstackccm.Register(rec)

	ccmOptions, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		klog.Fatalf("unable to initialize command options: %v", err)
	}
	command := app.NewCloudControllerManagerCommand(ccmOptions, cloudInitializer, controllerInitializers(), names.CCMControllerAliases(), cliflag.NamedFlagSets{}, wait.NeverStop)
	os.Exit(cli.Run(command))
}

// controllerInitializers gives each controller its own client name, so that
// with --use-service-account-credentials every controller runs under its own
// ServiceAccount and RBAC can be least-privilege per controller.
func controllerInitializers() map[string]app.ControllerInitFuncConstructor {
	clientNames := map[string]string{
		names.CloudNodeController:          "kumo-cloud-node-controller",
		names.CloudNodeLifecycleController: "kumo-cloud-node-lifecycle-controller",
		names.ServiceLBController:          "kumo-service-controller",
		names.NodeRouteController:          "kumo-route-controller",
	}
	initializers := app.DefaultInitFuncConstructors
	for name, client := range clientNames {
		if c, ok := initializers[name]; ok {
			c.InitContext.ClientName = client
			initializers[name] = c
		}
	}
	return initializers
}

func cloudInitializer(cfg *config.CompletedConfig) cloudprovider.Interface {
	shared := cfg.ComponentConfig.KubeCloudShared.CloudProvider
	cloud, err := cloudprovider.InitCloudProvider(shared.Name, shared.CloudConfigFile)
	if err != nil {
		klog.Fatalf("cloud provider %q could not be initialized: %v", shared.Name, err)
	}
	if cloud == nil {
		klog.Fatalf("unknown cloud provider %q (supported: %s, %s)", shared.Name, nifcloudccm.ProviderName, openstackccm.ProviderName)
	}
	return cloud
}
