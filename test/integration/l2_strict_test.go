//go:build integration

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

package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// revisionPort is the container port Knative's Services target on a
// revision's pods: queue-proxy's HTTP port.
const revisionPort = 8012

// TestL2FullMTLSIsStrict: for a full-mTLS (long-lived) revision SSM emits
// a PeerAuthentication, and istiod's inbound configuration for a pod of that
// revision, fetched over xDS as the pod's sidecar, has no filter chain that
// takes plaintext on the revision's port: every chain that can match it
// requires TLS with a client certificate. A pod in the same namespace that
// no full-mTLS policy covers, fetched the same way, does take plaintext
// there (Istio's default PERMISSIVE), which shows the check can fail.
func TestL2FullMTLSIsStrict(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, testNS)

	if _, err := c.serving.ServingV1().Revisions(testNS).Create(ctx, revision("strict-00001", map[string]string{
		"ssm.dev/lifecycle": "long-lived",
	}), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating revision strict-00001: %v", err)
	}
	if _, err := c.networking.NetworkingV1alpha1().Ingresses(testNS).Create(ctx,
		kingress("strict", "strict.l1.example.com", "strict-00001"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the KIngress: %v", err)
	}
	eventually(t, "SSM's PeerAuthentication for strict-00001", 30*time.Second, func(ctx context.Context) (bool, error) {
		list, err := c.istio.SecurityV1beta1().PeerAuthentications(testNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, pa := range list.Items {
			if pa.Spec.GetSelector().GetMatchLabels()["serving.knative.dev/revision"] == "strict-00001" {
				return pa.Spec.GetMtls().GetMode().String() == "STRICT", fmt.Errorf("mode %v", pa.Spec.GetMtls().GetMode())
			}
		}
		return false, fmt.Errorf("none among %d", len(list.Items))
	})

	// Two workloads as Knative would run them: a Service selecting the pods
	// on the revision's port, and a pod KWOK runs (and gives an address).
	strictIP := runSelectedPod(t, c, "strict-pod", map[string]string{"serving.knative.dev/revision": "strict-00001"})
	relaxedIP := runSelectedPod(t, c, "relaxed-pod", map[string]string{"app": "relaxed-l2"})

	eventually(t, "istiod's inbound listener for strict-pod taking mTLS only on port 8012", 60*time.Second, func(ctx context.Context) (bool, error) {
		plain, err := plaintextChains(ctx, "strict-pod", strictIP, map[string]string{"serving.knative.dev/revision": "strict-00001"})
		return err == nil && len(plain) == 0, fmt.Errorf("plaintext chains %v, err %v", plain, err)
	})
	eventually(t, "istiod's inbound listener for relaxed-pod taking plaintext on port 8012 (PERMISSIVE)", 60*time.Second, func(ctx context.Context) (bool, error) {
		plain, err := plaintextChains(ctx, "relaxed-pod", relaxedIP, map[string]string{"app": "relaxed-l2"})
		return err == nil && len(plain) > 0, err
	})
}

// runSelectedPod creates a Service selecting labels on revisionPort and a
// pod with those labels on KWOK's node, and returns the pod's address.
func runSelectedPod(t *testing.T, c *clients, name string, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(revisionPort)}},
		},
	}
	if _, err := c.kube.CoreV1().Services(testNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Service %s: %v", name, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName: "kwok-node-0",
			Containers: []corev1.Container{{Name: "queue-proxy", Image: "example.com/fn",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: revisionPort}}}},
		},
	}
	if _, err := c.kube.CoreV1().Pods(testNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", name, err)
	}
	var ip string
	eventually(t, "pod "+name+" running with an address", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := c.kube.CoreV1().Pods(testNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ip = p.Status.PodIP
		return ip != "" && p.Status.Phase == corev1.PodRunning, fmt.Errorf("phase %s, ip %q", p.Status.Phase, ip)
	})
	return ip
}

// plaintextChains fetches, as the sidecar of pod name at ip, the listeners
// istiod generates and returns the inbound filter chains that would take a
// plaintext connection to revisionPort: those matching that port (or any
// port) that do not require TLS with a client certificate.
func plaintextChains(ctx context.Context, name, ip string, labels map[string]string) ([]string, error) {
	listeners, err := sidecarListeners(ctx, name, ip, labels)
	if err != nil {
		return nil, err
	}
	var inbound *listenerv3.Listener
	for _, l := range listeners {
		if l.GetName() == "virtualInbound" {
			inbound = l
		}
	}
	if inbound == nil {
		return nil, fmt.Errorf("no virtualInbound listener among %d", len(listeners))
	}
	var plain []string
	portChains := 0
	for _, fc := range inbound.GetFilterChains() {
		m := fc.GetFilterChainMatch()
		if port := m.GetDestinationPort(); port != nil && port.GetValue() != revisionPort {
			continue
		}
		if m.GetDestinationPort().GetValue() == revisionPort {
			portChains++
		}
		if m.GetTransportProtocol() == "tls" && requiresClientCertificate(fc) {
			continue
		}
		plain = append(plain, fmt.Sprintf("%s(port %d, transport %q)", fc.GetName(), m.GetDestinationPort().GetValue(), m.GetTransportProtocol()))
	}
	if portChains == 0 {
		// istiod has not joined the pod to its Service yet: no verdict.
		return nil, fmt.Errorf("no inbound chain for port %d yet", revisionPort)
	}
	return plain, nil
}

func requiresClientCertificate(fc *listenerv3.FilterChain) bool {
	ts := fc.GetTransportSocket()
	if ts == nil || ts.GetName() != "envoy.transport_sockets.tls" {
		return false
	}
	ctx := &tlsv3.DownstreamTlsContext{}
	if err := ts.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return false
	}
	return ctx.GetRequireClientCertificate().GetValue()
}

// sidecarListeners asks istiod once for the listeners of the sidecar of
// pod name at ip in testNS, as that sidecar's Envoy would.
func sidecarListeners(ctx context.Context, name, ip string, labels map[string]string) ([]*listenerv3.Listener, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(os.Getenv("SSM_XDS_ADDRESS"), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return nil, err
	}
	labelValues := map[string]any{}
	for k, v := range labels {
		labelValues[k] = v
	}
	meta, err := structpb.NewStruct(map[string]any{
		"LABELS": labelValues, "NAMESPACE": testNS, "NAME": name, "CLUSTER_ID": "Kubernetes",
		"INSTANCE_IPS": ip, "INTERCEPTION_MODE": "REDIRECT",
	})
	if err != nil {
		return nil, err
	}
	const typeURL = "type.googleapis.com/envoy.config.listener.v3.Listener"
	if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: typeURL, Node: &corev3.Node{
		Id:       fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", ip, name, testNS, testNS),
		Cluster:  name + "." + testNS,
		Metadata: meta,
	}}); err != nil {
		return nil, err
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("waiting for listeners: %w", err)
		}
		if r.GetTypeUrl() != typeURL {
			continue
		}
		var out []*listenerv3.Listener
		for _, a := range r.GetResources() {
			l := &listenerv3.Listener{}
			if err := a.UnmarshalTo(l); err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		if strings.TrimSpace(r.GetVersionInfo()) == "" && len(out) == 0 {
			return nil, fmt.Errorf("empty listener response")
		}
		return out, nil
	}
}
