/*
Copyright 2026 The SSM Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package config

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	netconfig "knative.dev/networking/pkg/config"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

const (
	// SSMConfigName is SSM's main ConfigMap.
	SSMConfigName = "config-ssm"
	// IstioConfigName is net-istio's ConfigMap; its gateway keys are honoured
	// when config-ssm does not set its own, so a net-istio install switches to
	// SSM by changing only the ingress class.
	IstioConfigName = "config-istio"
)

// Gateway is an Istio Gateway and the Kubernetes Service in front of its pods.
type Gateway struct {
	Namespace string
	Name      string
	// ServiceURL is the gateway Service's cluster hostname,
	// e.g. istio-ingressgateway.istio-system.svc.cluster.local.
	ServiceURL string `json:"service"`
	// LabelSelector optionally limits the gateway to Ingresses whose labels match.
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
}

// QualifiedName is "namespace/name", the form VirtualServices reference.
func (g Gateway) QualifiedName() string {
	return g.Namespace + "/" + g.Name
}

// ReadinessMode says how a KIngress is confirmed to be served.
type ReadinessMode string

const (
	// ReadinessProbe probes the gateway pods over HTTP with knative.dev/networking's prober.
	ReadinessProbe ReadinessMode = "probe"
	// ReadinessXDS asks istiod over xDS, as the gateway would, whether the
	// gateway's routes carry the KIngress; for clusters where no gateway pod
	// runs to be probed (a local control plane).
	ReadinessXDS ReadinessMode = "xds"
)

// SSM is the parsed config-ssm (with config-istio's gateways folded in).
type SSM struct {
	// IngressGateways serve external-visibility hosts.
	IngressGateways []Gateway
	// LocalGateways serve cluster-local hosts.
	LocalGateways []Gateway
	// GatewaysFromIstioConfig is true when the gateways above came from config-istio.
	GatewaysFromIstioConfig bool
	// Readiness is how KIngress readiness is confirmed.
	Readiness ReadinessMode
	// XDSAddress is istiod's plaintext xDS gRPC address (host:port), read
	// when Readiness is ReadinessXDS.
	XDSAddress string
	// SidecarlessRevisions lets the Deployment webhook remove the Istio
	// sidecar from revisions whose policy is lightweight mTLS.
	SidecarlessRevisions bool
	// Policy holds the lifecycle defaults.
	Policy policy.Defaults
	// Observation is how the autoscaler hook observes execution times.
	Observation Observation
}

// Observation tunes how the autoscaler hook observes execution times for
// "auto" and derived timeouts.
type Observation struct {
	// Window is the sliding window an observation covers.
	Window time.Duration
	// DwellWindows is how many Windows a new class must hold before it is
	// applied; 0 applies it at once.
	DwellWindows int
	// ScrapeInterval is how often ready pods are scraped.
	ScrapeInterval time.Duration
}

// DefaultObservation is config-ssm's observation with no key set.
func DefaultObservation() Observation {
	return Observation{Window: 5 * time.Minute, DwellWindows: 2, ScrapeInterval: 30 * time.Second}
}

// Config is everything the KIngress reconciler reads from ConfigMaps.
type Config struct {
	SSM     *SSM
	Network *netconfig.Config
}
