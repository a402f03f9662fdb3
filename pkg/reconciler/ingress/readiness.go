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

package ingress

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/status"

	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// readiness is the status.Manager of the reconciler. It follows config-ssm's
// readiness-mode at every call, since the ConfigMap can change while the
// controller runs: "probe" asks knative.dev/networking's HTTP prober, "xds"
// an xdsprobe.Manager for the configured istiod address, started on first
// use and replaced when the address changes.
type readiness struct {
	probe interface {
		status.Manager
		CancelIngressProbing(obj interface{})
	}
	newXDS func(address string) (*xdsprobe.Manager, error)

	mu         sync.Mutex
	xds        *xdsprobe.Manager
	xdsAddress string
}

var _ status.Manager = (*readiness)(nil)

// IsReady implements status.Manager with the configured mode. A KIngress
// bound to no gateway at all (external-gateways and local-gateways set to
// "[]": mesh-only routing) has nothing a gateway must serve; its mesh
// VirtualService is written, and it is ready as net-istio's is.
func (r *readiness) IsReady(ctx context.Context, ing *v1alpha1.Ingress) (bool, error) {
	if noGatewayBound(ctx) {
		return true, nil
	}
	cfg := config.FromContext(ctx)
	if cfg == nil || cfg.SSM == nil || cfg.SSM.Readiness != config.ReadinessXDS {
		r.stopXDS()
		return r.probe.IsReady(ctx, ing)
	}
	m, err := r.xdsFor(cfg.SSM.XDSAddress)
	if err != nil {
		return false, err
	}
	return m.IsReady(ctx, ing)
}

// CancelIngressProbing forgets a deleted KIngress in every mode.
func (r *readiness) CancelIngressProbing(obj interface{}) {
	r.probe.CancelIngressProbing(obj)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.xds != nil {
		r.xds.CancelIngressProbing(obj)
	}
}

func (r *readiness) xdsFor(address string) (*xdsprobe.Manager, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.xds != nil && r.xdsAddress == address {
		return r.xds, nil
	}
	if r.xds != nil {
		r.xds.Close()
		r.xds = nil
	}
	m, err := r.newXDS(address)
	if err != nil {
		return nil, fmt.Errorf("starting xDS readiness for %s: %w", address, err)
	}
	r.xds, r.xdsAddress = m, address
	return m, nil
}

// stopXDS ends the xDS streams once the mode is no longer xds.
func (r *readiness) stopXDS() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.xds != nil {
		r.xds.Close()
		r.xds = nil
	}
}

// noGatewayBound says whether the reconciler bound the KIngress in ctx to no
// gateway for any visibility.
func noGatewayBound(ctx context.Context) bool {
	bound, ok := ctx.Value(boundGatewaysKey{}).(map[v1alpha1.IngressVisibility]sets.Set[string])
	if !ok {
		return false
	}
	for _, names := range bound {
		if names.Len() > 0 {
			return false
		}
	}
	return true
}
