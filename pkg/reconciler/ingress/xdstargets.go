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

	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// gatewayWorkloads lists, for readiness-mode xds, the gateway workloads a
// KIngress is bound to with the hosts each must serve. It reads the same
// Gateways and Services as the HTTP probe targets, but needs no pod.
type gatewayWorkloads struct {
	targets *gatewayProbeTargets
}

var _ xdsprobe.TargetLister = (*gatewayWorkloads)(nil)

// ListTargets implements xdsprobe.TargetLister: one target per bound
// Gateway, whose workload is the Gateway's selector. The workload's
// namespace is that of the Service in front of the gateway pods (the one
// labelled like the selector, as for HTTP probing), or the Gateway's own
// when there is none: istiod uses it only for visibility, and a
// VirtualService is exported everywhere unless it says otherwise.
func (l *gatewayWorkloads) ListTargets(ctx context.Context, ing *v1alpha1.Ingress) ([]xdsprobe.Target, error) {
	bound, err := l.targets.boundGateways(ctx, ing)
	if err != nil {
		return nil, err
	}
	out := make([]xdsprobe.Target, 0, len(bound))
	for _, b := range bound {
		gw := b.gateway
		selector := gw.Spec.GetSelector()
		if len(selector) == 0 {
			return nil, fmt.Errorf("gateway %s has no workload selector: istiod would apply it to every gateway, so no one gateway can be asked for it", b.qualified)
		}
		workloadNS := gw.Namespace
		if svc, err := l.targets.serviceOf(gw); err == nil {
			workloadNS = svc.Namespace
		}
		out = append(out, xdsprobe.Target{
			Workload: xdsprobe.Workload{Namespace: workloadNS, Labels: selector},
			Hosts:    b.hosts,
		})
	}
	return out, nil
}
