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
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"

	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/xdsprobe"
)

// recordingProber stands in for knative.dev/networking's HTTP prober.
type recordingProber struct {
	calls, cancels int
}

func (p *recordingProber) IsReady(context.Context, *v1alpha1.Ingress) (bool, error) {
	p.calls++
	return true, nil
}

func (p *recordingProber) CancelIngressProbing(interface{}) { p.cancels++ }

// TestReadinessFollowsMode walks readiness-mode and xds-address through
// changes, as config-ssm edits would, one step after the other.
func TestReadinessFollowsMode(t *testing.T) {
	t.Parallel()
	prober := &recordingProber{}
	var started []string
	r := &readiness{
		probe: prober,
		newXDS: func(address string) (*xdsprobe.Manager, error) {
			started = append(started, address)
			// Nothing is bound in this test, so no stream is ever opened.
			nothingBound := &gatewayWorkloads{targets: &gatewayProbeTargets{
				gatewaysFor: func(context.Context, *v1alpha1.Ingress) map[v1alpha1.IngressVisibility]sets.Set[string] {
					return nil
				},
			}}
			return xdsprobe.NewManager(context.Background(), xdsprobe.Options{Address: address, ClusterDomain: "cluster.local"},
				nothingBound, func(*v1alpha1.Ingress) {})
		},
	}
	t.Cleanup(r.stopXDS)

	steps := []struct {
		name        string
		mode        config.ReadinessMode
		address     string
		wantReady   bool
		wantErr     error
		wantProbes  int
		wantStarted []string
		wantXDS     bool
	}{{
		name: "probe", mode: config.ReadinessProbe, address: "istiod.istio-system.svc:15010",
		wantReady: true, wantProbes: 1,
	}, {
		// Nothing to check is an error, never Ready.
		name: "xds with nothing bound", mode: config.ReadinessXDS, address: "istiod.istio-system.svc:15010",
		wantErr: xdsprobe.ErrNoTargets, wantProbes: 1,
		wantStarted: []string{"istiod.istio-system.svc:15010"}, wantXDS: true,
	}, {
		name: "xds again: the same manager", mode: config.ReadinessXDS, address: "istiod.istio-system.svc:15010",
		wantErr: xdsprobe.ErrNoTargets, wantProbes: 1,
		wantStarted: []string{"istiod.istio-system.svc:15010"}, wantXDS: true,
	}, {
		name: "xds at a new address: a new manager", mode: config.ReadinessXDS, address: "127.0.0.1:15010",
		wantErr: xdsprobe.ErrNoTargets, wantProbes: 1,
		wantStarted: []string{"istiod.istio-system.svc:15010", "127.0.0.1:15010"}, wantXDS: true,
	}, {
		name: "back to probe: xDS stopped", mode: config.ReadinessProbe, address: "127.0.0.1:15010",
		wantReady: true, wantProbes: 2,
		wantStarted: []string{"istiod.istio-system.svc:15010", "127.0.0.1:15010"},
	}}
	for _, step := range steps {
		ctx := config.ToContext(context.Background(), &config.Config{SSM: &config.SSM{Readiness: step.mode, XDSAddress: step.address}})
		ready, err := r.IsReady(ctx, newIngress())
		if ready != step.wantReady || !errors.Is(err, step.wantErr) || (err != nil) != (step.wantErr != nil) {
			t.Errorf("%s: IsReady() = %v, %v, want %v, %v", step.name, ready, err, step.wantReady, step.wantErr)
		}
		if prober.calls != step.wantProbes {
			t.Errorf("%s: prober called %d times, want %d", step.name, prober.calls, step.wantProbes)
		}
		if diff := cmp.Diff(step.wantStarted, started); diff != "" {
			t.Errorf("%s: xDS managers started (-want, +got):\n%s", step.name, diff)
		}
		if got := r.xds != nil; got != step.wantXDS {
			t.Errorf("%s: xDS manager running = %v, want %v", step.name, got, step.wantXDS)
		}
	}
	r.CancelIngressProbing(newIngress())
	if prober.cancels != 1 {
		t.Errorf("CancelIngressProbing reached the prober %d times, want 1", prober.cancels)
	}
}

// TestReadinessMeshOnly: a KIngress bound to no gateway (mesh-only routing)
// is ready in every mode without asking a prober or istiod, while one bound
// to a gateway is asked about.
func TestReadinessMeshOnly(t *testing.T) {
	t.Parallel()
	prober := &recordingProber{}
	r := &readiness{probe: prober}
	ing := &v1alpha1.Ingress{}
	for _, mode := range []config.ReadinessMode{config.ReadinessProbe, config.ReadinessXDS} {
		ctx := config.ToContext(context.Background(), &config.Config{SSM: &config.SSM{Readiness: mode}})
		ctx = withBoundGateways(ctx, map[v1alpha1.IngressVisibility]sets.Set[string]{
			v1alpha1.IngressVisibilityExternalIP:   sets.New[string](),
			v1alpha1.IngressVisibilityClusterLocal: sets.New[string](),
		})
		ready, err := r.IsReady(ctx, ing)
		if !ready || err != nil {
			t.Errorf("mode %s, no gateway bound: IsReady() = %v, %v; want true, nil", mode, ready, err)
		}
	}
	if prober.calls != 0 {
		t.Errorf("prober asked %d times for a mesh-only KIngress, want 0", prober.calls)
	}

	ctx := config.ToContext(context.Background(), &config.Config{SSM: &config.SSM{Readiness: config.ReadinessProbe}})
	ctx = withBoundGateways(ctx, map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP: sets.New("knative-serving/knative-ingress-gateway"),
	})
	if _, err := r.IsReady(ctx, ing); err != nil {
		t.Fatalf("IsReady() with a bound gateway: %v", err)
	}
	if prober.calls != 1 {
		t.Errorf("prober asked %d times for a KIngress bound to a gateway, want 1", prober.calls)
	}
}
