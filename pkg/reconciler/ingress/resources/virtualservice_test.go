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

package resources

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

// upstreamHash is the K-Network-Hash knative.dev/networking's prober expects
// for ing: the expectation comes from upstream, not from the code under test.
func upstreamHash(t *testing.T, ing *v1alpha1.Ingress) string {
	t.Helper()
	sum, err := ingress.ComputeHash(ing)
	if err != nil {
		t.Fatalf("ComputeHash: %v", err)
	}
	return hex.EncodeToString(sum[:])
}

// probeMatch and probeHeaders are what every probe twin route adds.
var probeMatch = map[string]*istiov1beta1.StringMatch{"K-Network-Hash": exact("override")}

func probeHeaders(hash string) *istiov1beta1.Headers {
	return setHeaders(map[string]string{"K-Network-Hash": hash})
}

func vsMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", Labels: helloLabels(), OwnerReferences: ownerRefs()}
}

func helloPath(splits ...v1alpha1.IngressBackendSplit) v1alpha1.HTTPIngressPath {
	if len(splits) == 0 {
		splits = []v1alpha1.IngressBackendSplit{split("default", "hello-00001", 80, 100)}
	}
	return v1alpha1.HTTPIngressPath{Splits: splits}
}

// knativeRules are the rules Knative Serving writes for a Route "hello" in
// "default": one external host and the cluster-local names.
func knativeRules() []v1alpha1.IngressRule {
	return []v1alpha1.IngressRule{
		rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.default.example.com"}, helloPath()),
		rule(v1alpha1.IngressVisibilityClusterLocal,
			[]string{"hello.default", "hello.default.svc", "hello.default.svc.cluster.local"}, helloPath()),
	}
}

func TestMakeVirtualServicesRejectsBadInput(t *testing.T) {
	t.Parallel()
	noHTTP := ingressWith(v1alpha1.IngressRule{Hosts: []string{"hello.example.com"}})
	namedPort := ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath(split("default", "hello-00001", 80, 100))))
	namedPort.Spec.Rules[0].HTTP.Paths[0].Splits[0].ServicePort = intstrString("http")
	tests := []struct {
		name string
		ing  *v1alpha1.Ingress
		want string
	}{{
		name: "rule without HTTP",
		ing:  noHTTP,
		want: "KIngress default/hello: spec.rules[0].http is missing: every rule needs an HTTP block",
	}, {
		name: "named service port",
		ing:  namedPort,
		want: `KIngress default/hello: spec.rules[0].http.paths[0].splits[0].servicePort "http" is not a port number: want 1-65535`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := MakeVirtualServices(tc.ing, bothGateways(), nil, nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("MakeVirtualServices() = %v, %v; want error %q", got, err, tc.want)
			}
		})
	}
}

func TestMakeVirtualServices(t *testing.T) {
	t.Parallel()
	splitPath := helloPath(split("default", "hello-00001", 80, 60), split("default", "hello-00002", 80, 40))
	ssmPolicies := map[Backend]policy.Policy{
		{Namespace: "default", Name: "hello-00001"}: {
			Lifecycle: policy.LifecycleLongLived, Timeout: 5 * time.Second,
			Retries: 3, RetryOn: "connect-failure,refused-stream", PerTryTimeout: 2 * time.Second,
		},
		{Namespace: "default", Name: "hello-00002"}: {
			Lifecycle: policy.LifecycleShortLived, Timeout: 30 * time.Second,
			Retries: 1, RetryOn: "connect-failure",
		},
	}
	hello1 := destination("hello-00001.default.svc.cluster.local", 80, 100)
	weighted := []*istiov1beta1.HTTPRouteDestination{
		destination("hello-00001.default.svc.cluster.local", 80, 60),
		destination("hello-00002.default.svc.cluster.local", 80, 40),
	}

	tests := []struct {
		name     string
		ing      *v1alpha1.Ingress
		gateways map[v1alpha1.IngressVisibility]sets.Set[string]
		policies map[Backend]policy.Policy
		leased   sets.Set[Backend]
		want     func(hash string) []*v1beta1.VirtualService
	}{{
		name:     "external rule: ingress VirtualService only",
		ing:      ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath())),
		gateways: bothGateways(),
		want: func(hash string) []*v1beta1.VirtualService {
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"),
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}}
		},
	}, {
		name:     "external and cluster-local rules: cluster-local names also served in the mesh",
		ing:      ingressWith(knativeRules()...),
		gateways: bothGateways(),
		want: func(hash string) []*v1beta1.VirtualService {
			external := []*istiov1beta1.HTTPMatchRequest{{
				Gateways: []string{externalGateway}, Authority: prefix("hello.default.example.com"),
			}}
			local := []*istiov1beta1.HTTPMatchRequest{{
				Gateways: []string{localGateway}, Authority: prefix("hello.default"),
			}}
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.default", "hello.default.example.com", "hello.default.svc", "hello.default.svc.cluster.local"},
					Gateways: []string{externalGateway, localGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.default.example.com"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match:   external,
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{localGateway}, Authority: prefix("hello.default"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match:   local,
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}, {
				ObjectMeta: vsMeta("hello-mesh"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.default", "hello.default.svc", "hello.default.svc.cluster.local"},
					Gateways: []string{"mesh"},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{"mesh"}, Authority: prefix("hello.default"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{"mesh"}, Authority: prefix("hello.default"),
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}}
		},
	}, {
		name: "no local gateway: cluster-local rule stays off the external gateways, mesh hosts not expanded",
		ing:  ingressWith(knativeRules()...),
		gateways: map[v1alpha1.IngressVisibility]sets.Set[string]{
			v1alpha1.IngressVisibilityExternalIP: sets.New(externalGateway),
		},
		want: func(hash string) []*v1beta1.VirtualService {
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.default.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.default.example.com"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.default.example.com"),
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}, {
				ObjectMeta: vsMeta("hello-mesh"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.default.svc.cluster.local"},
					Gateways: []string{"mesh"},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{"mesh"}, Authority: prefix("hello.default"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{"mesh"}, Authority: prefix("hello.default"),
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}}
		},
	}, {
		name:     "no gateways at all and only external hosts: nothing to build",
		ing:      ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, helloPath())),
		gateways: nil,
		want:     func(string) []*v1beta1.VirtualService { return nil },
	}, {
		name: "several hosts in one rule: one match per host",
		ing: ingressWith(rule(v1alpha1.IngressVisibilityExternalIP,
			[]string{"b.example.com", "a.example.com"}, helloPath())),
		gateways: bothGateways(),
		want: func(hash string) []*v1beta1.VirtualService {
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"a.example.com", "b.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("a.example.com"), Headers: probeMatch,
						}, {
							Gateways: []string{externalGateway}, Authority: prefix("b.example.com"), Headers: probeMatch,
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("a.example.com"),
						}, {
							Gateways: []string{externalGateway}, Authority: prefix("b.example.com"),
						}},
						Route:   []*istiov1beta1.HTTPRouteDestination{hello1},
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}}
		},
	}, {
		name:     "SSM split: loosest timeout, fewest retries",
		ing:      ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, splitPath)),
		gateways: bothGateways(),
		policies: ssmPolicies,
		want: func(hash string) []*v1beta1.VirtualService {
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"), Headers: probeMatch,
						}},
						Route:   weighted,
						Headers: probeHeaders(hash),
						Timeout: durationpb.New(30 * time.Second),
						Retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"),
						}},
						Route:   weighted,
						Timeout: durationpb.New(30 * time.Second),
						Retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
					}},
				},
			}}
		},
	}, {
		name:     "SSM and non-SSM split: net-istio behaviour",
		ing:      ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, splitPath)),
		gateways: bothGateways(),
		policies: map[Backend]policy.Policy{
			{Namespace: "default", Name: "hello-00001"}: ssmPolicies[Backend{Namespace: "default", Name: "hello-00001"}],
		},
		want: func(hash string) []*v1beta1.VirtualService {
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"), Headers: probeMatch,
						}},
						Route:   weighted,
						Headers: probeHeaders(hash),
						Retries: &istiov1beta1.HTTPRetry{},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"),
						}},
						Route:   weighted,
						Retries: &istiov1beta1.HTTPRetry{},
					}},
				},
			}}
		},
	}, {
		name:     "leased backend: its split goes to the lease Service, port, weight and policy unchanged",
		ing:      ingressWith(rule(v1alpha1.IngressVisibilityExternalIP, []string{"hello.example.com"}, splitPath)),
		gateways: bothGateways(),
		policies: ssmPolicies,
		leased:   sets.New(Backend{Namespace: "default", Name: "hello-00002"}),
		want: func(hash string) []*v1beta1.VirtualService {
			route := []*istiov1beta1.HTTPRouteDestination{
				destination("hello-00001.default.svc.cluster.local", 80, 60),
				destination("hello-00002-ssm.default.svc.cluster.local", 80, 40),
			}
			return []*v1beta1.VirtualService{{
				ObjectMeta: vsMeta("hello-ingress"),
				Spec: istiov1beta1.VirtualService{
					Hosts:    []string{"hello.example.com"},
					Gateways: []string{externalGateway},
					Http: []*istiov1beta1.HTTPRoute{{
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"), Headers: probeMatch,
						}},
						Route:   route,
						Headers: probeHeaders(hash),
						Timeout: durationpb.New(30 * time.Second),
						Retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
					}, {
						Match: []*istiov1beta1.HTTPMatchRequest{{
							Gateways: []string{externalGateway}, Authority: prefix("hello.example.com"),
						}},
						Route:   route,
						Timeout: durationpb.New(30 * time.Second),
						Retries: &istiov1beta1.HTTPRetry{Attempts: 1, RetryOn: "connect-failure"},
					}},
				},
			}}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := tc.ing.DeepCopy()
			got, err := MakeVirtualServices(tc.ing, tc.gateways, tc.policies, tc.leased)
			if err != nil {
				t.Fatalf("MakeVirtualServices: %v", err)
			}
			if diff := cmp.Diff(tc.want(upstreamHash(t, tc.ing)), got, protocmp.Transform()); diff != "" {
				t.Errorf("MakeVirtualServices (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.ing); diff != "" {
				t.Errorf("MakeVirtualServices mutated the KIngress (-before, +after):\n%s", diff)
			}
		})
	}
}
