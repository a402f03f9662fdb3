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

package stats

import (
	"context"
	"github.com/google/go-cmp/cmp"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// replica answers Stats with fixed counts for pool knative-serving/default.
type replica struct {
	leaseapi.UnimplementedLeasesServer
	warm, leased  int32
	leasedProxies []string
}

func (r *replica) Stats(_ context.Context, req *leaseapi.StatsRequest) (*leaseapi.StatsResponse, error) {
	if req.GetPoolNamespace() != "knative-serving" || req.GetPoolName() != "default" {
		return &leaseapi.StatsResponse{}, nil
	}
	return &leaseapi.StatsResponse{Connected: r.warm + r.leased, Warm: r.warm, Leased: r.leased, LeasedProxies: r.leasedProxies}, nil
}

// serve starts a replica on a loopback port and returns its address.
func serve(t *testing.T, r *replica) (ip string, port int32) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	leaseapi.RegisterLeasesServer(g, r)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	a := lis.Addr().(*net.TCPAddr)
	return a.IP.String(), int32(a.Port)
}

func lister(t *testing.T, subsets ...corev1.EndpointSubset) corev1listers.EndpointsLister {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if subsets != nil {
		if err := idx.Add(&corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "ssm-pool"},
			Subsets:    subsets,
		}); err != nil {
			t.Fatal(err)
		}
	}
	return corev1listers.NewEndpointsLister(idx)
}

var pool = types.NamespacedName{Namespace: "knative-serving", Name: "default"}

func TestStatsSumsEveryReplica(t *testing.T) {
	t.Parallel()
	ip1, port1 := serve(t, &replica{warm: 3, leased: 1, leasedProxies: []string{"ssm-proxy-default-b"}})
	ip2, port2 := serve(t, &replica{warm: 2, leased: 4, leasedProxies: []string{"ssm-proxy-default-a", "ssm-proxy-default-c"}})
	// Loopback replicas differ by port; real ones by IP on one port.
	r := NewReader(lister(t,
		corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: ip1}}, Ports: []corev1.EndpointPort{{Name: "grpc-xds", Port: port1}}},
		corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: ip2}}, Ports: []corev1.EndpointPort{{Name: "grpc-xds", Port: port2}}},
	), "knative-serving", insecure.NewCredentials())
	defer r.Close()
	got, err := r.Stats(context.Background(), pool)
	if err != nil {
		t.Fatalf("Stats() = %v", err)
	}
	want := Counts{Warm: 5, Leased: 5, LeasedProxies: []string{"ssm-proxy-default-a", "ssm-proxy-default-b", "ssm-proxy-default-c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats() (-want +got):\n%s", diff)
	}
}

func TestStatsErrors(t *testing.T) {
	t.Parallel()
	ip, port := serve(t, &replica{warm: 1})
	// A port nothing listens on: bind one, then close it.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPort := int32(dead.Addr().(*net.TCPAddr).Port)
	dead.Close()

	tests := []struct {
		name string
		l    corev1listers.EndpointsLister
		want string
	}{{
		name: "no Endpoints object",
		l:    lister(t),
		want: "Endpoints knative-serving/ssm-pool",
	}, {
		name: "no ready replica",
		l:    lister(t, corev1.EndpointSubset{NotReadyAddresses: []corev1.EndpointAddress{{IP: ip}}, Ports: []corev1.EndpointPort{{Port: port}}}),
		want: "no ready ssm-pool replica in Endpoints knative-serving/ssm-pool",
	}, {
		name: "one replica of two does not answer: no partial sum",
		l: lister(t,
			corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: ip}}, Ports: []corev1.EndpointPort{{Port: port}}},
			corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: deadPort}}},
		),
		want: "ssm-pool replica 127.0.0.1:",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(tc.l, "knative-serving", insecure.NewCredentials())
			defer r.Close()
			got, err := r.Stats(context.Background(), pool)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Stats() = %+v, %v; want an error containing %q", got, err, tc.want)
			}
		})
	}
}

// A replica that leaves the Endpoints keeps its connection for a while (a
// concurrent reconcile may still be using it), then it is closed.
func TestGoneReplicasAreForgottenLater(t *testing.T) {
	t.Parallel()
	ip1, port1 := serve(t, &replica{warm: 1})
	ip2, port2 := serve(t, &replica{warm: 2})
	both := []corev1.EndpointSubset{
		{Addresses: []corev1.EndpointAddress{{IP: ip1}}, Ports: []corev1.EndpointPort{{Port: port1}}},
		{Addresses: []corev1.EndpointAddress{{IP: ip2}}, Ports: []corev1.EndpointPort{{Port: port2}}},
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "ssm-pool"}, Subsets: both}
	if err := idx.Add(ep); err != nil {
		t.Fatal(err)
	}
	r := NewReader(corev1listers.NewEndpointsLister(idx), "knative-serving", insecure.NewCredentials())
	defer r.Close()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	if _, err := r.Stats(context.Background(), pool); err != nil {
		t.Fatal(err)
	}

	one := ep.DeepCopy()
	one.Subsets = both[:1]
	if err := idx.Update(one); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after     time.Duration
		wantConns int
	}{{30 * time.Second, 2}, {2 * time.Minute, 1}} {
		now = now.Add(tc.after)
		counts, err := r.Stats(context.Background(), pool)
		if err != nil || counts.Warm != 1 {
			t.Fatalf("Stats() after %v = warm %d, %v; want 1, nil", tc.after, counts.Warm, err)
		}
		r.mu.Lock()
		got := len(r.conns)
		r.mu.Unlock()
		if got != tc.wantConns {
			t.Errorf("%v after the replica left: %d connections, want %d", tc.after, got, tc.wantConns)
		}
	}
}
