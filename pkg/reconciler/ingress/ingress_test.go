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
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	istiov1beta1 "istio.io/api/networking/v1beta1"
	"istio.io/client-go/pkg/apis/networking/v1beta1"
	securityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgotesting "k8s.io/client-go/testing"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	. "knative.dev/pkg/reconciler/testing"

	ssmtesting "github.com/serverless-mesh/ssm/pkg/reconciler/testing"
)

// Probe hashes: knative.dev/networking's ingress.ComputeHash of each
// fixture KIngress (TestProbeHashes checks them), which the gateways echo in
// K-Network-Hash once they serve it.
const (
	hashBase       = "c15d34d7bece63fbcf8ac235f5b05e9eeca4427070ee969dd3e609851ee34dd6"
	hashTLS        = "69a81d66d61b5008c16c752439b0b90354137e2bd63f595b978a3a29dfe0fc3b"
	hashRedirected = "cd9b27158c091f7245c929511d096e0b96dd8e4df17dc958b33ae460ec480f73"
	hashLocalOnly  = "a497cd7679d8dc5e47b2b4cd29553e4b5b240e7ad88a7e176d5072a05f798ad3"
)

// The per-KIngress names, hashes included, written out: 36237c89 is the
// first 8 hex digits of sha256("istio-system/istio-ingressgateway"),
// c4ad9e13 those of sha256("ns/hello/ns/hello-cert").
const (
	tlsGatewayName = "hello-external-36237c89"
	tlsGatewayQN   = testNS + "/" + tlsGatewayName
	secretCopyName = "hello-hello-cert-c4ad9e13"
)

var (
	vsResource     = v1beta1.SchemeGroupVersion.WithResource("virtualservices")
	drResource     = v1beta1.SchemeGroupVersion.WithResource("destinationrules")
	gwResource     = v1beta1.SchemeGroupVersion.WithResource("gateways")
	paResource     = securityv1beta1.SchemeGroupVersion.WithResource("peerauthentications")
	secretResource = corev1.SchemeGroupVersion.WithResource("secrets")

	cmpOpts = []cmp.Option{protocmp.Transform()}
)

func TestReconcile(t *testing.T) {
	t.Parallel()
	shortLivedAnnotations := map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "2s"}
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

	table := TableTest{{
		Name: "bad workqueue key",
		Key:  "too/many/parts",
	}, {
		Name: "KIngress not found",
		Key:  "ns/missing",
	}, {
		Name:    "first reconcile of a plain KIngress: net-istio routes, finalizer, ready",
		Key:     "ns/hello",
		Objects: objects(newIngress()),
		WantCreates: []runtime.Object{
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, netIstio),
			meshVS(hashBase, netIstio),
		},
		WantPatches:       []clientgotesting.PatchActionImpl{finalizerPatch(addFinalizer)},
		WantStatusUpdates: statusUpdate(newIngress(withStatus(readyStatus()))),
		WantEvents:        []string{finalizerEvent},
		PostConditions:    []func(*testing.T, *TableRow){proberCalls(1)},
	}, {
		Name:    "first reconcile, gateways do not serve it yet: LoadBalancerReady Unknown",
		Key:     "ns/hello",
		Ctx:     prober(false, nil),
		Objects: objects(newIngress(withFinalizer)),
		WantCreates: []runtime.Object{
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, netIstio),
			meshVS(hashBase, netIstio),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withStatus(v1alpha1.IngressStatus{
			Status: duckv1.Status{
				ObservedGeneration: 1,
				Conditions: duckv1.Conditions{
					{Type: v1alpha1.IngressConditionLoadBalancerReady, Status: corev1.ConditionUnknown,
						Reason: "Uninitialized", Message: "Waiting for load balancer to be ready"},
					{Type: v1alpha1.IngressConditionNetworkConfigured, Status: corev1.ConditionTrue},
					{Type: apis.ConditionReady, Status: corev1.ConditionUnknown,
						Reason: "Uninitialized", Message: "Waiting for load balancer to be ready"},
				},
			},
		}))),
	}, {
		Name:    "no gateway pods: LoadBalancerReady Unknown NoGatewayPods, requeued",
		Key:     "ns/hello",
		Ctx:     prober(false, fmt.Errorf("%w for gateways [a/b]", errNoGatewayPods)),
		Objects: objects(newIngress(withFinalizer)),
		WantErr: true,
		WantCreates: []runtime.Object{
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, netIstio),
			meshVS(hashBase, netIstio),
		},
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withStatus(v1alpha1.IngressStatus{
			Status: duckv1.Status{
				ObservedGeneration: 1,
				Conditions: duckv1.Conditions{
					{Type: v1alpha1.IngressConditionLoadBalancerReady, Status: corev1.ConditionUnknown, Reason: "NoGatewayPods",
						Message: "cannot confirm the routes are served: no ready gateway pods to probe for gateways [a/b]"},
					{Type: v1alpha1.IngressConditionNetworkConfigured, Status: corev1.ConditionTrue},
					{Type: apis.ConditionReady, Status: corev1.ConditionUnknown, Reason: "NoGatewayPods",
						Message: "cannot confirm the routes are served: no ready gateway pods to probe for gateways [a/b]"},
				},
			},
		}))),
	}, {
		Name:    "SSM short-lived revision with ssm.dev/timeout 2s: route timeout, retries and DestinationRule",
		Key:     "ns/hello",
		Objects: objects(newIngress(), revision(shortLivedAnnotations)),
		WantCreates: []runtime.Object{
			shortLivedDR(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s),
		},
		WantPatches:       []clientgotesting.PatchActionImpl{finalizerPatch(addFinalizer)},
		WantStatusUpdates: statusUpdate(newIngress(withStatus(readyStatus()))),
		WantEvents:        []string{finalizerEvent},
	}, {
		Name: "sidecar-less revision whose lease Service has a ready endpoint: splits go there, DestinationRule without TLS mode",
		Key:  "ns/hello",
		Ctx:  withTracker(),
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(shortLivedAnnotations),
			leaseSlice(true)),
		WantCreates: []runtime.Object{
			leasedDR(),
			onLeaseService(ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s)),
			onLeaseService(meshVS(hashBase, shortLived2s)),
		},
		// A change of the lease Service's endpoints re-reconciles the KIngress.
		PostConditions: []func(*testing.T, *TableRow){tracks(typed(leaseSlice(false), "discovery.k8s.io/v1", "EndpointSlice"))},
	}, {
		Name: "a lease Service with no ready endpoint takes no traffic: Knative's public Service",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(shortLivedAnnotations),
			leaseSlice(false)),
		WantCreates: []runtime.Object{
			shortLivedDR(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s),
		},
	}, {
		Name: "precedence: the revision's ssm.dev/timeout 2s beats the ServerlessPolicy's 5s",
		Key:  "ns/hello",
		Ctx:  withTracker(),
		PostConditions: []func(*testing.T, *TableRow){tracks(
			typed(revision(shortLivedAnnotations), "serving.knative.dev/v1", "Revision"),
			typed(knService(), "serving.knative.dev/v1", "Service"),
			typed(serverlessPolicy("slow", jan, 5*time.Second), "ssm.dev/v1alpha1", "ServerlessPolicy"),
		)},
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(shortLivedAnnotations),
			knService(), serverlessPolicy("slow", jan, 5*time.Second)),
		WantCreates: []runtime.Object{
			withPolicyRef(shortLivedDR(), "slow/2"),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s),
		},
	}, {
		Name: "precedence: without annotations the ServerlessPolicy's 5s applies (auto starts long-lived)",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(nil),
			knService(), serverlessPolicy("slow", jan, 5*time.Second)),
		WantCreates: []runtime.Object{
			withPolicyRef(longLivedDR(), "slow/2"),
			strictPA(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, longLived(5*time.Second)),
			meshVS(hashBase, longLived(5*time.Second)),
		},
	}, {
		Name: "precedence: neither declares a timeout: config defaults, the revision's timeoutSeconds",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())),
			revision(map[string]string{"ssm.dev/lifecycle": "auto"})),
		WantCreates: []runtime.Object{
			longLivedDR(),
			strictPA(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, longLived(300*time.Second)),
			meshVS(hashBase, longLived(300*time.Second)),
		},
	}, {
		Name: "conflict: two ServerlessPolicies select the Service, the oldest wins",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(nil), knService(),
			serverlessPolicy("aa-newer", feb, 5*time.Second), serverlessPolicy("zz-older", jan, 7*time.Second)),
		WantCreates: []runtime.Object{
			withPolicyRef(longLivedDR(), "zz-older/2"),
			strictPA(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, longLived(7*time.Second)),
			meshVS(hashBase, longLived(7*time.Second)),
		},
	}, {
		Name: "bad input: ssm.dev/timeout banana keeps the Istio objects, reports InvalidPolicy",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())),
			revision(map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "banana"}),
			shortLivedDR(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s)),
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withStatus(v1alpha1.IngressStatus{
			Status: duckv1.Status{
				ObservedGeneration: 1,
				Conditions: duckv1.Conditions{
					{Type: v1alpha1.IngressConditionLoadBalancerReady, Status: corev1.ConditionTrue},
					{Type: v1alpha1.IngressConditionNetworkConfigured, Status: corev1.ConditionFalse,
						Reason: "InvalidPolicy", Message: invalidTimeoutMessage + "; the previous Istio configuration is kept"},
					{Type: apis.ConditionReady, Status: corev1.ConditionFalse,
						Reason: "InvalidPolicy", Message: invalidTimeoutMessage + "; the previous Istio configuration is kept"},
				},
			},
			PublicLoadBalancer:  &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: externalLB}}},
			PrivateLoadBalancer: &v1alpha1.LoadBalancerStatus{Ingress: []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: localLB}}},
		}))),
		WantEvents: []string{Eventf(corev1.EventTypeWarning, "InvalidPolicy", "%s", invalidTimeoutMessage)},
	}, {
		Name: "update: a stale VirtualService is updated, one left from a removed rule deleted",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())),
			&v1beta1.VirtualService{ObjectMeta: ownedMeta(testNS, "hello-ingress"), Spec: istiov1beta1.VirtualService{
				Hosts: []string{"hello.ns.example.com"},
			}},
			meshVS(hashBase, netIstio),
			&v1beta1.VirtualService{ObjectMeta: ownedMeta(testNS, "hello-old"), Spec: istiov1beta1.VirtualService{
				Hosts: []string{"old.ns.example.com"},
			}}),
		WantUpdates: []clientgotesting.UpdateActionImpl{{
			Object: ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, netIstio),
		}},
		WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction(vsResource, testNS, "hello-old")},
	}, {
		Name: "not owned: a VirtualService of the same name is left alone, NotOwned",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer),
			&v1beta1.VirtualService{
				ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "hello-ingress"},
				Spec:       istiov1beta1.VirtualService{Hosts: []string{"someone-else.example.com"}},
			}),
		WantErr: true,
		WantStatusUpdates: statusUpdate(newIngress(withFinalizer, withStatus(v1alpha1.IngressStatus{
			Status: duckv1.Status{
				ObservedGeneration: 1,
				Conditions: duckv1.Conditions{
					{Type: v1alpha1.IngressConditionLoadBalancerReady, Status: corev1.ConditionFalse,
						Reason: "VirtualServiceNotReconciled", Message: "VirtualService ns/hello-ingress: object exists and is not owned by this KIngress"},
					{Type: v1alpha1.IngressConditionNetworkConfigured, Status: corev1.ConditionFalse,
						Reason: "NotOwned", Message: `There is an existing VirtualService "ns/hello-ingress" that we do not own.`},
					{Type: apis.ConditionReady, Status: corev1.ConditionFalse,
						Reason: "VirtualServiceNotReconciled", Message: "VirtualService ns/hello-ingress: object exists and is not owned by this KIngress"},
				},
			},
		}))),
		WantEvents: []string{Eventf(corev1.EventTypeWarning, "InternalError",
			"VirtualService ns/hello-ingress: object exists and is not owned by this KIngress")},
	}, {
		Name: "no-op: everything in place and ready: no API writes at all",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(shortLivedAnnotations),
			shortLivedDR(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s)),
		PostConditions: []func(*testing.T, *TableRow){proberCalls(0)},
	}, {
		Name: "class change: the DestinationRule follows, and the Revision gets an Event saying where each field came from",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())),
			revision(map[string]string{"ssm.dev/lifecycle": "long-lived"}),
			shortLivedDR(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, longLived(300*time.Second)),
			meshVS(hashBase, longLived(300*time.Second))),
		WantUpdates: []clientgotesting.UpdateActionImpl{{Object: longLivedDR()}},
		// Long-lived is full mTLS: the pods now refuse plaintext.
		WantCreates: []runtime.Object{strictPA()},
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, "LifecycleClassChanged", "SSM lifecycle class short-lived → long-lived (from annotation); "+
				"route timeout 5m0s (from Revision), retries 3 (from config-ssm), mTLS full (from config-ssm)"),
		},
	}, {
		Name: "class change back: full mTLS → lightweight, the PeerAuthentication goes with the sidecar's policy",
		Key:  "ns/hello",
		Objects: objects(newIngress(withFinalizer, withStatus(readyStatus())), revision(shortLivedAnnotations),
			longLivedDR(), strictPA(),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, shortLived2s),
			meshVS(hashBase, shortLived2s)),
		WantUpdates: []clientgotesting.UpdateActionImpl{{Object: shortLivedDR()}},
		WantDeletes: []clientgotesting.DeleteActionImpl{deleteAction(paResource, testNS, "hello-hello-00001-894f0a7e")},
		WantEvents: []string{
			Eventf(corev1.EventTypeNormal, "LifecycleClassChanged", "SSM lifecycle class long-lived → short-lived (from annotation); "+
				"route timeout 2s (from annotation), retries 1 (from config-ssm), mTLS lightweight (from config-ssm)"),
		},
	}, {
		Name:                    "deletion: every owned object, in any namespace, is deleted, then the finalizer",
		Key:                     "ns/hello",
		SkipNamespaceValidation: true,
		Objects: objects(newIngress(withFinalizer, withDeletionTimestamp, withStatus(readyStatus())),
			ingressVS(hashBase, []string{externalGatewayQN, localGatewayQN}, externalGatewayQN, netIstio),
			meshVS(hashBase, netIstio),
			&v1beta1.DestinationRule{ObjectMeta: ownedMeta("other", "ns-hello-hello-00001-e052b6dd"),
				Spec: istiov1beta1.DestinationRule{Host: "hello-00001.other.svc.cluster.local"}},
			&securityv1beta1.PeerAuthentication{ObjectMeta: ownedMeta("other", "ns-hello-hello-00001-e052b6dd")},
			&v1beta1.Gateway{ObjectMeta: ownedMeta(testNS, tlsGatewayName)},
			&corev1.Secret{ObjectMeta: ownedMeta("istio-system", secretCopyName)},
			// Another KIngress's copy, and a user's Secret: not ours.
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "other-copy", Labels: map[string]string{
				"networking.internal.knative.dev/ingress": "other",
				"ssm.dev/ingress-namespace":               testNS,
				"app.kubernetes.io/managed-by":            "ssm",
			}}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "hello-cert"}}),
		WantDeletes: []clientgotesting.DeleteActionImpl{
			deleteAction(vsResource, testNS, "hello-ingress"),
			deleteAction(vsResource, testNS, "hello-mesh"),
			deleteAction(paResource, "other", "ns-hello-hello-00001-e052b6dd"),
			deleteAction(drResource, "other", "ns-hello-hello-00001-e052b6dd"),
			deleteAction(gwResource, testNS, tlsGatewayName),
			deleteAction(secretResource, "istio-system", secretCopyName),
		},
		WantPatches: []clientgotesting.PatchActionImpl{finalizerPatch(removeFinalizer)},
		WantEvents:  []string{finalizerEvent},
	}}
	table = append(table, tlsRows()...)
	for i := range table {
		table[i].CmpOpts = append(table[i].CmpOpts, cmpOpts...)
	}
	table.Test(t, ssmtesting.MakeFactory(newReconciler))
}
