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

package xdsprobe

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"
)

var (
	ingressGateway = Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}
	localGateway   = Workload{Namespace: "istio-system", Labels: map[string]string{"istio": "local-gateway"}}
)

func testIngress(name, host string) *v1alpha1.Ingress {
	return &v1alpha1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1alpha1.IngressSpec{Rules: []v1alpha1.IngressRule{{
			Hosts:      []string{host},
			Visibility: v1alpha1.IngressVisibilityExternalIP,
			HTTP: &v1alpha1.HTTPIngressRuleValue{Paths: []v1alpha1.HTTPIngressPath{{
				Splits: []v1alpha1.IngressBackendSplit{{IngressBackend: v1alpha1.IngressBackend{
					ServiceNamespace: "default", ServiceName: name,
				}, Percent: 100}},
			}}},
		}}},
	}
}

// hashOf is knative.dev/networking's hash, the one the probe routes carry;
// the fake server needs it as input.
func hashOf(t *testing.T, ing *v1alpha1.Ingress) string {
	t.Helper()
	sum, err := ingress.ComputeHash(ing)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sum[:])
}

// staticTargets is a TargetLister with a fixed answer per KIngress name.
type staticTargets map[string][]Target

func (s staticTargets) ListTargets(_ context.Context, ing *v1alpha1.Ingress) ([]Target, error) {
	return s[ing.Name], nil
}

// callbacks collects the KIngresses readyCallback was called with.
type callbacks chan types.NamespacedName

func (c callbacks) record(ing *v1alpha1.Ingress) {
	select {
	case c <- types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}:
	default: // the test asserts on the first ones only
	}
}

// waitReady waits for readyCallback(ing) after which IsReady(ing) is true.
// Callbacks also announce failures, so each one is followed by a check.
func (c callbacks) waitReady(t *testing.T, m *Manager, ing *v1alpha1.Ingress) {
	t.Helper()
	want := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-c:
			if got != want {
				continue
			}
			if ready, err := m.IsReady(context.Background(), ing); ready && err == nil {
				return
			}
		case <-timeout:
			t.Fatalf("readyCallback(%s) was not followed by IsReady() = true", want)
		}
	}
}

// waitCallback waits for readyCallback(ing).
func (c callbacks) waitCallback(t *testing.T, ing *v1alpha1.Ingress) {
	t.Helper()
	want := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-c:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("readyCallback(%s) was not called", want)
		}
	}
}

func newTestManager(t *testing.T, addr string, targets TargetLister) (*Manager, callbacks) {
	t.Helper()
	cb := make(callbacks, 64)
	m, err := NewManager(context.Background(), Options{
		Address: addr, ClusterDomain: "cluster.local",
		InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, targets, cb.record)
	if err != nil {
		t.Fatal("NewManager() =", err)
	}
	t.Cleanup(m.Close)
	return m, cb
}

// gatewayConfig is a gateway's config shaped like istiod's: an HTTP listener
// on 8080 loading "http.80", whose one virtual host serves host.
func gatewayConfig(t *testing.T, host string, routes ...*routev3.Route) ([]*listenerv3.Listener, []*routev3.RouteConfiguration) {
	return []*listenerv3.Listener{httpListener(t, "0.0.0.0_8080", "http.80")},
		[]*routev3.RouteConfiguration{routeConfig("http.80", vhost(host+":80", []string{host}, routes...))}
}

func TestNewManagerRejects(t *testing.T) {
	t.Parallel()
	_, err := NewManager(context.Background(), Options{}, staticTargets{}, func(*v1alpha1.Ingress) {})
	if err == nil || !strings.Contains(err.Error(), "xDS address is empty") {
		t.Errorf("NewManager(no address) = %v, want an error naming the empty address", err)
	}
}

func TestIsReadyNothingToCheck(t *testing.T) {
	t.Parallel()
	m, _ := newTestManager(t, "127.0.0.1:1", staticTargets{})
	ready, err := m.IsReady(context.Background(), testIngress("hello", "hello.default.example.com"))
	if ready || !errors.Is(err, ErrNoTargets) || !strings.Contains(err.Error(), "KIngress default/hello") {
		t.Errorf("IsReady() = %v, %v, want false and ErrNoTargets naming the KIngress", ready, err)
	}
}

// TestIsReadyAfterSync checks the answer once the client holds what the
// server sent: only the probe route at the current hash, for every host and
// every gateway workload, makes a KIngress ready.
func TestIsReadyAfterSync(t *testing.T) {
	t.Parallel()
	const host = "hello.default.example.com"
	const localHost = "hello.default.svc.cluster.local"
	ing := testIngress("hello", host)
	hash := hashOf(t, ing)
	both := staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{host}}, {Workload: localGateway, Hosts: []string{localHost}}}}
	ingressOnly := staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{host}}}}

	for _, tc := range []struct {
		name    string
		targets staticTargets
		// routes per gateway (LABELS["istio"]) and the host they serve.
		routes map[string][]*routev3.Route
		hosts  map[string]string
		want   bool
	}{{
		name:    "probe route at the current hash",
		targets: ingressOnly,
		routes:  map[string][]*routev3.Route{"ingressgateway": {probeRoute(hash), plainRoute()}},
		want:    true,
	}, {
		name:    "probe route at another hash",
		targets: ingressOnly,
		routes:  map[string][]*routev3.Route{"ingressgateway": {probeRoute("0123abcd"), plainRoute()}},
	}, {
		name:    "no probe route: istiod rejected the objects",
		targets: ingressOnly,
		routes:  map[string][]*routev3.Route{"ingressgateway": {plainRoute()}},
	}, {
		name:    "the host is not on the gateway",
		targets: ingressOnly,
		routes:  map[string][]*routev3.Route{"ingressgateway": {probeRoute(hash), plainRoute()}},
		hosts:   map[string]string{"ingressgateway": "other.default.example.com"},
	}, {
		name:    "both gateways serve the current hash",
		targets: both,
		routes: map[string][]*routev3.Route{
			"ingressgateway": {probeRoute(hash), plainRoute()},
			"local-gateway":  {probeRoute(hash), plainRoute()},
		},
		hosts: map[string]string{"local-gateway": localHost},
		want:  true,
	}, {
		name:    "the local gateway lags",
		targets: both,
		routes: map[string][]*routev3.Route{
			"ingressgateway": {probeRoute(hash), plainRoute()},
			"local-gateway":  {probeRoute("0123abcd"), plainRoute()},
		},
		hosts: map[string]string{"local-gateway": localHost},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startXDSServer(t, "127.0.0.1:0")
			versions := map[string]string{}
			for istio, routes := range tc.routes {
				h := host
				if tc.hosts[istio] != "" {
					h = tc.hosts[istio]
				}
				listeners, rcs := gatewayConfig(t, h, routes...)
				versions[istio] = srv.set(t, istio, listeners, rcs)
			}
			m, _ := newTestManager(t, srv.addr, tc.targets)
			if ready, err := m.IsReady(context.Background(), ing); err != nil || (ready && !tc.want) {
				t.Fatalf("first IsReady() = %v, %v, want %v or not yet", ready, err, tc.want)
			}
			for istio, v := range versions {
				srv.waitForACK(t, istio, routeTypeURL, v)
			}
			ready, err := m.IsReady(context.Background(), ing)
			if err != nil || ready != tc.want {
				t.Errorf("IsReady() = %v, %v, want %v, nil", ready, err, tc.want)
			}
		})
	}
}

// TestReadyCallbackOnNewSnapshot: a KIngress waiting for its hash becomes
// ready, and readyCallback fires, when istiod pushes the route.
func TestReadyCallbackOnNewSnapshot(t *testing.T) {
	t.Parallel()
	const host = "hello.default.example.com"
	ing := testIngress("hello", host)
	srv := startXDSServer(t, "127.0.0.1:0")
	listeners, oldRoutes := gatewayConfig(t, host, probeRoute("0123abcd"), plainRoute())
	v1 := srv.set(t, "ingressgateway", listeners, oldRoutes)
	m, cb := newTestManager(t, srv.addr, staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{host}}}})

	if ready, err := m.IsReady(context.Background(), ing); ready || err != nil {
		t.Fatalf("IsReady() = %v, %v, want false, nil", ready, err)
	}
	srv.waitForACK(t, "ingressgateway", routeTypeURL, v1)
	if ready, err := m.IsReady(context.Background(), ing); ready || err != nil {
		t.Fatalf("IsReady() with the old hash = %v, %v, want false, nil", ready, err)
	}

	_, newRoutes := gatewayConfig(t, host, probeRoute(hashOf(t, ing)), plainRoute())
	srv.set(t, "ingressgateway", listeners, newRoutes)
	cb.waitReady(t, m, ing)

	// The client subscribed to the routes its listeners name, and ACKed.
	var rds [][]string
	for _, req := range srv.received() {
		if req.GetTypeUrl() == routeTypeURL && req.GetResponseNonce() == "" {
			rds = append(rds, req.GetResourceNames())
		}
	}
	if diff := cmp.Diff([][]string{{"http.80"}}, rds); diff != "" {
		t.Errorf("RDS subscriptions (-want, +got):\n%s", diff)
	}
}

// unusedAddress is a loopback address nothing listens on.
func unusedAddress(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestIsReadyServerDown: with istiod unreachable a KIngress is not ready,
// IsReady says why, and readyCallback fires once so the reason reaches the
// status.
func TestIsReadyServerDown(t *testing.T) {
	t.Parallel()
	addr := unusedAddress(t)
	m, cb := newTestManager(t, addr, staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{"hello.default.example.com"}}}})
	ing := testIngress("hello", "hello.default.example.com")

	ready, err := m.IsReady(context.Background(), ing)
	if ready {
		t.Fatal("IsReady() = true with no server")
	}
	if err == nil {
		cb.waitCallback(t, ing)
		ready, err = m.IsReady(context.Background(), ing)
	}
	if ready || err == nil {
		t.Fatalf("IsReady() = %v, %v, want false and an error", ready, err)
	}
	for _, part := range []string{
		"KIngress default/hello",
		"xDS stream to istiod at " + addr + " for gateway workload istio-system{istio=ingressgateway}",
		"Unavailable",
	} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

// TestReconnect: after istiod restarts, the client subscribes again and
// KIngresses waiting meanwhile turn ready.
func TestReconnect(t *testing.T) {
	t.Parallel()
	first, second := testIngress("first", "first.default.example.com"), testIngress("second", "second.default.example.com")
	targets := staticTargets{
		"first":  {{Workload: ingressGateway, Hosts: []string{"first.default.example.com"}}},
		"second": {{Workload: ingressGateway, Hosts: []string{"second.default.example.com"}}},
	}
	srv := startXDSServer(t, "127.0.0.1:0")
	listeners, routes := gatewayConfig(t, "first.default.example.com", probeRoute(hashOf(t, first)), plainRoute())
	v := srv.set(t, "ingressgateway", listeners, routes)
	m, cb := newTestManager(t, srv.addr, targets)
	if _, err := m.IsReady(context.Background(), first); err != nil {
		t.Fatal("IsReady(first) =", err)
	}
	srv.waitForACK(t, "ingressgateway", routeTypeURL, v)
	if ready, err := m.IsReady(context.Background(), first); !ready || err != nil {
		t.Fatalf("IsReady(first) = %v, %v, want true, nil", ready, err)
	}

	srv.stop()
	eventually(t, func() bool {
		_, err := m.IsReady(context.Background(), second)
		return err != nil
	}, "IsReady(second) to fail while the server is down")

	restarted := startXDSServer(t, srv.addr)
	both := routeConfig("http.80",
		vhost("first", []string{"first.default.example.com"}, probeRoute(hashOf(t, first)), plainRoute()),
		vhost("second", []string{"second.default.example.com"}, probeRoute(hashOf(t, second)), plainRoute()))
	restarted.set(t, "ingressgateway", listeners, []*routev3.RouteConfiguration{both})
	cb.waitReady(t, m, second)
	for _, ing := range []*v1alpha1.Ingress{first, second} {
		if ready, err := m.IsReady(context.Background(), ing); !ready || err != nil {
			t.Errorf("IsReady(%s) after the restart = %v, %v, want true, nil", ing.Name, ready, err)
		}
	}
}

// TestStop: cancelling the context stops every stream; IsReady then fails.
func TestStop(t *testing.T) {
	t.Parallel()
	srv := startXDSServer(t, "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	m, err := NewManager(ctx, Options{Address: srv.addr, ClusterDomain: "cluster.local"},
		staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{"hello.default.example.com"}}}},
		func(*v1alpha1.Ingress) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.IsReady(context.Background(), testIngress("hello", "hello.default.example.com")); err != nil {
		t.Fatal("IsReady() =", err)
	}
	cancel()
	m.Close() // returns once every stream has ended
	m.Close() // and again, harmlessly
	_, err = m.IsReady(context.Background(), testIngress("hello", "hello.default.example.com"))
	if err == nil || !strings.Contains(err.Error(), "is stopped") {
		t.Errorf("IsReady() after stop = %v, want an error saying the manager is stopped", err)
	}
}

// TestCancelIngressProbing: forgetting the last KIngress of a workload ends
// its stream, so memory follows the KIngresses that exist.
func TestCancelIngressProbing(t *testing.T) {
	t.Parallel()
	srv := startXDSServer(t, "127.0.0.1:0")
	ing := testIngress("hello", "hello.default.example.com")
	m, _ := newTestManager(t, srv.addr, staticTargets{"hello": {{Workload: ingressGateway, Hosts: []string{"hello.default.example.com"}}}})
	if _, err := m.IsReady(context.Background(), ing); err != nil {
		t.Fatal("IsReady() =", err)
	}
	m.CancelIngressProbing(ing)
	m.mu.Lock()
	states, watchers := len(m.states), len(m.watchers)
	m.mu.Unlock()
	if states != 0 || watchers != 0 {
		t.Errorf("after CancelIngressProbing: %d states, %d streams, want 0, 0", states, watchers)
	}
}
