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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

const (
	poolNS       = "knative-serving"
	poolName     = "itest"
	poolRevNS    = "pool-itest"
	poolAddress  = "10.200.0.12:18000"
	poolSNI      = "ssm-pool.knative-serving.svc"
	proxySecret  = "ssm-proxy-itest-identity"
	poolDeploy   = "ssm-proxy-itest"
	leaseSecret  = "ssm-activator-tls"
	testIP       = "10.200.0.1" // the tests run in the hub namespace
	proxyPortStr = "8081"
)

// dialPool connects to ssm-pool over mTLS with the certificate in a Secret
// the controller issued.
func dialPool(t *testing.T, c *clients, secret string) *grpc.ClientConn {
	t.Helper()
	var s *corev1.Secret
	eventually(t, "Secret "+secret+" issued by the controller", 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		s, err = c.kube.CoreV1().Secrets(poolNS).Get(ctx, secret, metav1.GetOptions{})
		return err == nil, err
	})
	cert, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		t.Fatalf("Secret %s: %v", secret, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data["ca.crt"]) {
		t.Fatalf("Secret %s: no CA in ca.crt", secret)
	}
	conn, err := grpc.NewClient(poolAddress, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: poolSNI, MinVersion: tls.VersionTLS12,
	})))
	if err != nil {
		t.Fatalf("dialing ssm-pool: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// playProxy connects one pooled "Envoy" over real ADS, as the pool's pods
// would if an Envoy binary ran here.
func playProxy(t *testing.T, conn *grpc.ClientConn, node, cluster string) *adsclient.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cl, err := adsclient.Dial(ctx, conn, adsclient.Config{
		Node:     &corev3.Node{Id: node, Cluster: cluster},
		TypeURLs: []string{resourcev3.ClusterType, resourcev3.EndpointType, resourcev3.ListenerType, resourcev3.RouteType},
	})
	if err != nil {
		t.Fatalf("proxy %s: ADS stream: %v", node, err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func getPool(ctx context.Context, c *clients) (*ssmv1alpha1.ProxyPool, error) {
	return c.ssm.SsmV1alpha1().ProxyPools(poolNS).Get(ctx, poolName, metav1.GetOptions{})
}

// TestL2ProxyPool: a ProxyPool becomes an Envoy Deployment (whose KWOK pods
// turn Ready when Knative's fake node runs); proxies that connect to
// ssm-pool over mTLS ADS are counted warm on the ProxyPool's status; the
// activator's identity leases one for a pooled revision, which receives that
// revision's configuration and nothing else, and the counts follow.
func TestL2ProxyPool(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, poolRevNS)

	p := &ssmv1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Name: poolName, Namespace: poolNS},
		Spec: ssmv1alpha1.ProxyPoolSpec{
			MinSize: ptr.To[int32](2),
			MaxSize: ptr.To[int32](3),
			Image:   "envoyproxy/envoy:v1.37.0",
			Sizing:  ssmv1alpha1.ProxyPoolSizing{Policy: ssmv1alpha1.SizingFixed},
		},
	}
	if _, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ProxyPool: %v", err)
	}
	t.Cleanup(func() {
		_ = c.ssm.SsmV1alpha1().ProxyPools(poolNS).Delete(context.Background(), poolName, metav1.DeleteOptions{})
	})

	var d *appsv1.Deployment
	eventually(t, "the pool's Deployment with minSize replicas", 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		d, err = c.kube.AppsV1().Deployments(poolNS).Get(ctx, poolDeploy, metav1.GetOptions{})
		return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 2, err
	})
	if got := d.Spec.Template.Annotations["sidecar.istio.io/inject"]; got != "false" {
		t.Errorf("pooled Envoys' pod template sidecar.istio.io/inject = %q, want \"false\"", got)
	}
	if os.Getenv("SSM_KNATIVE") == "1" {
		eventually(t, "status.readyProxies = 2 (KWOK pods Ready)", 60*time.Second, func(ctx context.Context) (bool, error) {
			got, err := getPool(ctx, c)
			return err == nil && got.Status.ReadyProxies == 2, err
		})
	}

	proxyConn := dialPool(t, c, proxySecret)
	a := playProxy(t, proxyConn, "itest-proxy-a", poolNS+"/"+poolName)
	b := playProxy(t, proxyConn, "itest-proxy-b", poolNS+"/"+poolName)
	eventually(t, "status.warmProxies = 2 once both proxies ACKed their base configuration", 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := getPool(ctx, c)
		if err != nil {
			return false, err
		}
		return got.Status.WarmProxies == 2 && got.Status.LeasedProxies == 0,
			fmt.Errorf("warm %d, leased %d", got.Status.WarmProxies, got.Status.LeasedProxies)
	})

	rev := revision("pooled-fn", map[string]string{
		"ssm.dev/lifecycle":  "short-lived",
		"ssm.dev/timeout":    "2s",
		"ssm.dev/proxy-pool": poolName,
	})
	rev.Namespace = poolRevNS
	if _, err := c.serving.ServingV1().Revisions(poolRevNS).Create(ctx, rev, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Revision: %v", err)
	}

	leases := leaseapi.NewLeasesClient(dialPool(t, c, leaseSecret))
	var resp *leaseapi.LeaseResponse
	eventually(t, "a lease for the pooled revision", 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		resp, err = leases.Lease(ctx, &leaseapi.LeaseRequest{Revision: &leaseapi.Revision{Namespace: poolRevNS, Name: "pooled-fn"}})
		return err == nil && resp.GetOutcome() == leaseapi.LeaseResponse_GRANTED, fmt.Errorf("%v %v", resp, err)
	})
	if want := testIP + ":" + proxyPortStr; resp.GetAddress() != want {
		t.Errorf("lease address = %q, want %q", resp.GetAddress(), want)
	}
	leased, other := a, b
	if resp.GetProxy() == "itest-proxy-b" {
		leased, other = b, a
	}
	name := "ssm/" + poolRevNS + "/pooled-fn"
	routes := leased.Resources(resourcev3.RouteType)
	rc, ok := routes[name].(*routev3.RouteConfiguration)
	if !ok {
		t.Fatalf("leased proxy holds routes %v, want %s", leased.Names(resourcev3.RouteType), name)
	}
	if got := rc.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetTimeout().AsDuration(); got != 2*time.Second {
		t.Errorf("leased proxy's route timeout = %v, want 2s (ssm.dev/timeout)", got)
	}
	if _, ok := leased.Resources(resourcev3.ClusterType)[name].(*clusterv3.Cluster); !ok {
		t.Errorf("leased proxy holds clusters %v, want %s", leased.Names(resourcev3.ClusterType), name)
	}
	for _, typ := range []string{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType} {
		if _, ok := other.Resources(typ)[name]; ok {
			t.Errorf("the proxy that was not leased holds %s %s", typ, name)
		}
	}
	eventually(t, "status counts 1 warm, 1 leased", 60*time.Second, func(ctx context.Context) (bool, error) {
		got, err := getPool(ctx, c)
		if err != nil {
			return false, err
		}
		return got.Status.WarmProxies == 1 && got.Status.LeasedProxies == 1,
			fmt.Errorf("warm %d, leased %d", got.Status.WarmProxies, got.Status.LeasedProxies)
	})

	// Bad input: an unknown revision is a clear NotFound, and the activator
	// may lease but not read the pool's counts.
	_, err := leases.Lease(ctx, &leaseapi.LeaseRequest{Revision: &leaseapi.Revision{Namespace: poolRevNS, Name: "no-such-revision"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Lease(unknown revision) = %v, want NotFound", err)
	}
	_, err = leases.Stats(ctx, &leaseapi.StatsRequest{PoolNamespace: poolNS, PoolName: poolName})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("Stats as the activator = %v, want PermissionDenied", err)
	}
	// A pooled proxy's certificate does not let it join another namespace's pool.
	intruder := playProxyErr(proxyConn, "itest-intruder", "other-namespace/"+poolName)
	if intruder == nil {
		t.Error("a proxy of knative-serving joined other-namespace's pool")
	}
}

// playProxyErr connects like playProxy and returns the error that ends the
// stream within a few seconds, or nil if it stays open.
func playProxyErr(conn *grpc.ClientConn, node, cluster string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := adsclient.Dial(ctx, conn, adsclient.Config{
		Node:     &corev3.Node{Id: node, Cluster: cluster},
		TypeURLs: []string{resourcev3.ClusterType, resourcev3.ListenerType},
	})
	if err != nil {
		return err
	}
	defer cl.Close()
	select {
	case <-cl.Done():
		if err := cl.Err(); err != nil {
			return err
		}
		return errors.New("stream closed")
	case <-time.After(3 * time.Second):
		return nil
	}
}
