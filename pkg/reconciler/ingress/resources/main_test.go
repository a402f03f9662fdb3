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
	"os"
	"testing"

	istiov1beta1 "istio.io/api/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

func TestMain(m *testing.M) {
	// Service hostnames depend on the cluster domain, which knative.dev/pkg
	// reads once per process from this variable or /etc/resolv.conf: pin it
	// so expectations do not depend on the machine.
	if err := os.Setenv("CLUSTER_DOMAIN", "cluster.local"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

const (
	externalGateway = "knative-serving/knative-ingress-gateway"
	localGateway    = "knative-serving/knative-local-gateway"
)

// bothGateways is the usual configuration: one external, one local gateway.
func bothGateways() map[v1alpha1.IngressVisibility]sets.Set[string] {
	return map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP:   sets.New(externalGateway),
		v1alpha1.IngressVisibilityClusterLocal: sets.New(localGateway),
	}
}

// ownerRefs is the controller reference of the "default/hello" KIngress
// built by ingressWith.
func ownerRefs() []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{
		APIVersion:         "networking.internal.knative.dev/v1alpha1",
		Kind:               "Ingress",
		Name:               "hello",
		UID:                "8b5a7d3e-hello",
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}}
}

func helloLabels() map[string]string {
	return map[string]string{
		"networking.internal.knative.dev/ingress": "hello",
		"ssm.dev/ingress-namespace":               "default",
		"app.kubernetes.io/managed-by":            "ssm",
	}
}

// ingressWith is the KIngress default/hello with the given rules.
func ingressWith(rules ...v1alpha1.IngressRule) *v1alpha1.Ingress {
	return &v1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default",
			Name:      "hello",
			UID:       "8b5a7d3e-hello",
			Labels:    map[string]string{"serving.knative.dev/route": "hello"},
		},
		Spec: v1alpha1.IngressSpec{Rules: rules, HTTPOption: v1alpha1.HTTPOptionEnabled},
	}
}

func rule(visibility v1alpha1.IngressVisibility, hosts []string, paths ...v1alpha1.HTTPIngressPath) v1alpha1.IngressRule {
	return v1alpha1.IngressRule{Visibility: visibility, Hosts: hosts, HTTP: &v1alpha1.HTTPIngressRuleValue{Paths: paths}}
}

func split(namespace, name string, port, percent int) v1alpha1.IngressBackendSplit {
	return v1alpha1.IngressBackendSplit{
		IngressBackend: v1alpha1.IngressBackend{ServiceNamespace: namespace, ServiceName: name, ServicePort: intstr.FromInt(port)},
		Percent:        percent,
	}
}

func prefix(s string) *istiov1beta1.StringMatch {
	return &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Prefix{Prefix: s}}
}

func exact(s string) *istiov1beta1.StringMatch {
	return &istiov1beta1.StringMatch{MatchType: &istiov1beta1.StringMatch_Exact{Exact: s}}
}

func setHeaders(kv map[string]string) *istiov1beta1.Headers {
	return &istiov1beta1.Headers{Request: &istiov1beta1.Headers_HeaderOperations{Set: kv}}
}

func destination(host string, port uint32, weight int32) *istiov1beta1.HTTPRouteDestination {
	return &istiov1beta1.HTTPRouteDestination{
		Destination: &istiov1beta1.Destination{Host: host, Port: &istiov1beta1.PortSelector{Number: port}},
		Weight:      weight,
	}
}

func intstrString(s string) intstr.IntOrString {
	return intstr.FromString(s)
}
