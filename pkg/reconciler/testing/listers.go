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

package testing

import (
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	istiosecurityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	fakeistioclientset "istio.io/client-go/pkg/clientset/versioned/fake"
	istiolisters "istio.io/client-go/pkg/listers/networking/v1beta1"
	istiosecuritylisters "istio.io/client-go/pkg/listers/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakekubeclientset "k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	networkingv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	fakenetworkingclientset "knative.dev/networking/pkg/client/clientset/versioned/fake"
	networkinglisters "knative.dev/networking/pkg/client/listers/networking/v1alpha1"
	rtesting "knative.dev/pkg/reconciler/testing"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	fakeservingclientset "knative.dev/serving/pkg/client/clientset/versioned/fake"
	autoscalinglisters "knative.dev/serving/pkg/client/listers/autoscaling/v1alpha1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	fakessmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned/fake"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
)

// schemes are those of every clientset whose objects a table row may hold.
var schemes = []func(*runtime.Scheme) error{
	fakenetworkingclientset.AddToScheme,
	fakeistioclientset.AddToScheme,
	fakekubeclientset.AddToScheme,
	fakeservingclientset.AddToScheme,
	fakessmclientset.AddToScheme,
}

// Listers serve a table row's objects the way informer caches would.
type Listers struct {
	sorter rtesting.ObjectSorter
}

// NewScheme returns a scheme that knows every kind Listers can hold.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range schemes {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// NewListers sorts objs into per-kind indexers. knative.dev/pkg's sorter
// panics on a kind no known scheme registers: a mistake in the test itself.
func NewListers(objs []runtime.Object) (*Listers, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	ls := &Listers{sorter: rtesting.NewObjectSorter(scheme)}
	ls.sorter.AddObjects(objs...)
	return ls, nil
}

// IndexerFor returns the indexer holding objects of obj's type.
func (l *Listers) IndexerFor(obj runtime.Object) cache.Indexer {
	return l.sorter.IndexerForObjectType(obj)
}

// GetNetworkingObjects are the objects for the knative.dev/networking clientset.
func (l *Listers) GetNetworkingObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakenetworkingclientset.AddToScheme)
}

// GetIstioObjects are the objects for the Istio clientset.
func (l *Listers) GetIstioObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakeistioclientset.AddToScheme)
}

// GetKubeObjects are the objects for the Kubernetes clientset.
func (l *Listers) GetKubeObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakekubeclientset.AddToScheme)
}

// GetServingObjects are the objects for the Knative Serving clientset.
func (l *Listers) GetServingObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakeservingclientset.AddToScheme)
}

// GetSSMObjects are the objects for SSM's own clientset.
func (l *Listers) GetSSMObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakessmclientset.AddToScheme)
}

// GetIngressLister lists KIngresses.
func (l *Listers) GetIngressLister() networkinglisters.IngressLister {
	return networkinglisters.NewIngressLister(l.IndexerFor(&networkingv1alpha1.Ingress{}))
}

// GetVirtualServiceLister lists Istio VirtualServices.
func (l *Listers) GetVirtualServiceLister() istiolisters.VirtualServiceLister {
	return istiolisters.NewVirtualServiceLister(l.IndexerFor(&istiov1beta1.VirtualService{}))
}

// GetPeerAuthenticationLister lists Istio PeerAuthentications.
func (l *Listers) GetPeerAuthenticationLister() istiosecuritylisters.PeerAuthenticationLister {
	return istiosecuritylisters.NewPeerAuthenticationLister(l.IndexerFor(&istiosecurityv1beta1.PeerAuthentication{}))
}

// GetDestinationRuleLister lists Istio DestinationRules.
func (l *Listers) GetDestinationRuleLister() istiolisters.DestinationRuleLister {
	return istiolisters.NewDestinationRuleLister(l.IndexerFor(&istiov1beta1.DestinationRule{}))
}

// GetGatewayLister lists Istio Gateways.
func (l *Listers) GetGatewayLister() istiolisters.GatewayLister {
	return istiolisters.NewGatewayLister(l.IndexerFor(&istiov1beta1.Gateway{}))
}

// GetSecretLister lists Secrets.
func (l *Listers) GetSecretLister() corev1listers.SecretLister {
	return corev1listers.NewSecretLister(l.IndexerFor(&corev1.Secret{}))
}

// GetServiceLister lists Kubernetes Services.
func (l *Listers) GetServiceLister() corev1listers.ServiceLister {
	return corev1listers.NewServiceLister(l.IndexerFor(&corev1.Service{}))
}

// GetEndpointsLister lists Endpoints.
func (l *Listers) GetEndpointsLister() corev1listers.EndpointsLister {
	return corev1listers.NewEndpointsLister(l.IndexerFor(&corev1.Endpoints{}))
}

// GetRevisionLister lists Knative Revisions.
func (l *Listers) GetRevisionLister() servinglisters.RevisionLister {
	return servinglisters.NewRevisionLister(l.IndexerFor(&servingv1.Revision{}))
}

// GetKnativeServiceLister lists Knative Services.
func (l *Listers) GetKnativeServiceLister() servinglisters.ServiceLister {
	return servinglisters.NewServiceLister(l.IndexerFor(&servingv1.Service{}))
}

// GetServerlessPolicyLister lists ServerlessPolicies.
func (l *Listers) GetServerlessPolicyLister() ssmlisters.ServerlessPolicyLister {
	return ssmlisters.NewServerlessPolicyLister(l.IndexerFor(&ssmv1alpha1.ServerlessPolicy{}))
}

// GetProxyPoolLister lists ProxyPools.
func (l *Listers) GetProxyPoolLister() ssmlisters.ProxyPoolLister {
	return ssmlisters.NewProxyPoolLister(l.IndexerFor(&ssmv1alpha1.ProxyPool{}))
}

// GetPodAutoscalerLister lists Knative PodAutoscalers.
func (l *Listers) GetPodAutoscalerLister() autoscalinglisters.PodAutoscalerLister {
	return autoscalinglisters.NewPodAutoscalerLister(l.IndexerFor(&autoscalingv1alpha1.PodAutoscaler{}))
}

// GetEndpointSliceLister lists EndpointSlices.
func (l *Listers) GetEndpointSliceLister() discoverylisters.EndpointSliceLister {
	return discoverylisters.NewEndpointSliceLister(l.IndexerFor(&discoveryv1.EndpointSlice{}))
}
