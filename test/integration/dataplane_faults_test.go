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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/test/standin"
)

// TestDataplanePoolKilledMidBurst: a short-lived revision that leases from
// the default pool is at zero; a burst of 50 arrives through SSM's
// activator, which leases a stand-in for it; ssm-pool is killed (SIGKILL)
// once it has granted that lease, while the burst waits for the pod. The
// stand-ins end with their ADS stream, so the held lease leads nowhere:
// every request must still be answered, exactly once, by the function,
// through Knative's own path. ssm-pool is started again afterwards and must
// serve leases again (later tests need it).
func TestDataplanePoolKilledMidBurst(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const service, burst = "poolkill", 50
	revision := deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived"})
	// Whatever happens below, later tests get ssm-pool and its stand-ins
	// back (start does nothing when ssm-pool runs).
	t.Cleanup(func() { clusterCommand(t, "start", "ssm-pool") })
	waitScaledToZero(t, c, revision)

	granted := `ssm_pool_leases_total{outcome="granted"}`
	grantedBefore := poolCounter(t, c, granted)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	want := "hello from " + revision
	errs := make(chan error, burst)
	var answered atomic.Int32
	start := time.Now()
	for i := range burst {
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			id := fmt.Sprintf("kill-%d", i)
			code, body, err := activatorGet(ctx, client, service, revision, "/?id="+id)
			answered.Add(1)
			if err != nil || code != http.StatusOK || body != want+" id "+id {
				errs <- fmt.Errorf("request %s: status %d body %q err %v, want 200 %q", id, code, body, err, want+" id "+id)
				return
			}
			errs <- nil
		}()
	}
	eventually(t, "ssm-pool granted the burst's lease", 10*time.Second, func(ctx context.Context) (bool, error) {
		v, err := poolMetric(ctx, c, granted)
		return v > grantedBefore, err
	})
	killedAt, answeredAtKill := time.Since(start), answered.Load()
	if answeredAtKill == burst {
		t.Fatalf("the whole burst was answered before ssm-pool was killed (%v): nothing was in flight", killedAt)
	}
	clusterCommand(t, "kill", "ssm-pool")
	for range burst {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	t.Logf("ssm-pool killed %v into the burst with %d of %d answered; all answered within %v",
		killedAt.Round(time.Millisecond), answeredAtKill, burst, time.Since(start).Round(time.Millisecond))

	counts, err := servedCounts(ctx, client, service, revision, "kill-")
	if err != nil {
		t.Fatal(err)
	}
	checkServedOnce(t, counts, "kill-", burst)
	// No stand-in carried any of them: they ended with ssm-pool.
	logs, err := standinLogs(c)
	if err != nil {
		t.Fatal(err)
	}
	if through := "for cluster ssm/" + dataplaneNS + "/" + revision + " "; strings.Contains(logs, through) {
		t.Errorf("a stand-in forwarded requests of %s (its log has %q); want Knative's path only", revision, through)
	}
	// Whether the activator still held the lease when the pod became ready
	// (then it tried the dead stand-in and dropped it) or its Lease call
	// was cut off, Knative's path served the burst.
	activatorLog, err := os.ReadFile(filepath.Join(c.stateDir, "logs", "kn-activator.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the activator dropped the lease after its stand-in refused: %v",
		strings.Contains(string(activatorLog), `"Dropped leased proxy"`) &&
			strings.Contains(string(activatorLog), `"revision":"`+dataplaneNS+"/"+revision+`"`))

	clusterCommand(t, "start", "ssm-pool")
	eventually(t, "both stand-ins warm on the restarted ssm-pool replicas", 30*time.Second, func(ctx context.Context) (bool, error) {
		v, err := poolMetric(ctx, c, `ssm_pool_proxies{pool="knative-serving/default",state="warm"}`)
		return v == 2, fmt.Errorf("%v warm, err %v", v, err)
	})
	leases := leaseapi.NewLeasesClient(dialPool(t, c, leaseSecret))
	resp, err := leases.Lease(ctx, &leaseapi.LeaseRequest{Revision: &leaseapi.Revision{Namespace: dataplaneNS, Name: revision}})
	if err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
		t.Errorf("Lease(%s) from the restarted ssm-pool = %v, %v; want GRANTED", revision, resp, err)
	}
}

// TestDataplaneLeaseIdleExpiry: a ProxyPool of its own, with a 3 s idle
// timeout and one proxy (a stand-in run by this test, at the test's own
// address). SSM's activator leases it for a short-lived revision that names
// the pool and sends requests through it; with no traffic after that (the
// stand-in reports no load), the lease expires: ssm-pool counts the expiry,
// the ProxyPool's status goes back to 1 warm and 0 leased, and the stand-in
// holds nothing of the revision and forwards nothing for it.
func TestDataplaneLeaseIdleExpiry(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const pool, service = "idle-expiry", "idle"

	p := &ssmv1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: poolNS},
		Spec: ssmv1alpha1.ProxyPoolSpec{
			MinSize:     ptr.To[int32](1),
			MaxSize:     ptr.To[int32](1),
			Image:       "envoyproxy/envoy:v1.37.0",
			IdleTimeout: &metav1.Duration{Duration: 3 * time.Second},
			Sizing:      ssmv1alpha1.ProxyPoolSizing{Policy: ssmv1alpha1.SizingFixed},
		},
	}
	if _, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ProxyPool %s/%s: %v", poolNS, pool, err)
	}
	t.Cleanup(func() {
		if err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Delete(context.Background(), pool, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting ProxyPool %s/%s: %v", poolNS, pool, err)
		}
	})
	proxy, forwarded := startPoolStandin(t, c, pool)
	poolCounts := func(warm, leased int32) func(ctx context.Context) (bool, error) {
		return func(ctx context.Context) (bool, error) {
			got, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Get(ctx, pool, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return got.Status.WarmProxies == warm && got.Status.LeasedProxies == leased,
				fmt.Errorf("warm %d, leased %d", got.Status.WarmProxies, got.Status.LeasedProxies)
		}
	}
	eventually(t, "ProxyPool "+pool+": 1 warm, 0 leased", 60*time.Second, poolCounts(1, 0))

	revision := deployFunction(t, c, service, map[string]string{
		"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": pool,
	})
	expiries := "ssm_pool_lease_expiries_total"
	expiriesBefore := poolCounter(t, c, expiries)
	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	eventually(t, "a request of "+revision+" through the pool's stand-in", 30*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		if err != nil || code != http.StatusOK || body != want {
			t.Fatalf("request through the activator: status %d body %q err %v, want 200 %q", code, body, err, want)
		}
		return forwarded.Load() > 0, nil
	})
	lastRequest := time.Now()

	eventually(t, "ssm-pool expired the idle lease", 30*time.Second, func(ctx context.Context) (bool, error) {
		v, err := poolMetric(ctx, c, expiries)
		return v > expiriesBefore, fmt.Errorf("%s %v, err %v", expiries, v, err)
	})
	t.Logf("lease expired %v after the last request (idle timeout 3s, expiry checked every 1s)",
		time.Since(lastRequest).Round(time.Millisecond))
	eventually(t, "ProxyPool "+pool+" back to 1 warm, 0 leased", 30*time.Second, poolCounts(1, 0))

	// The proxy is back to its base configuration: nothing of the revision.
	name := "ssm/" + dataplaneNS + "/" + revision
	eventually(t, "the stand-in holds no resource of "+revision, 10*time.Second, func(context.Context) (bool, error) {
		for _, typ := range []string{resourcev3.ListenerType, resourcev3.RouteType, resourcev3.ClusterType, resourcev3.EndpointType} {
			for _, n := range proxy.ADS().Names(typ) {
				if n == name {
					return false, fmt.Errorf("%s %s still held", typ, n)
				}
			}
		}
		return true, nil
	})
	before := forwarded.Load()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+proxy.Addr(ssm.PoolProxyPort)+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Knative-Serving-Namespace", dataplaneNS)
	req.Header.Set("Knative-Serving-Revision", revision)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("request to the returned stand-in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || forwarded.Load() != before {
		t.Errorf("the returned stand-in answered %d and forwarded %d requests of %s; want no route for it",
			resp.StatusCode, forwarded.Load()-before, revision)
	}
}

// startPoolStandin runs a stand-in in this process as the only proxy of the
// ProxyPool knative-serving/pool, with the pool's identity, announcing the
// test's address (leases send traffic to its port 8081 there). It returns
// the stand-in and a count of the requests it forwarded.
func startPoolStandin(t *testing.T, c *clients, pool string) (*standin.Proxy, *atomic.Int32) {
	t.Helper()
	secret := "ssm-proxy-" + pool + "-identity"
	dir := t.TempDir()
	eventually(t, "Secret "+secret+" issued by the controller", 30*time.Second, func(ctx context.Context) (bool, error) {
		s, err := c.kube.CoreV1().Secrets(poolNS).Get(ctx, secret, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, key := range []string{"tls.crt", "tls.key", "ca.crt"} {
			if err := os.WriteFile(filepath.Join(dir, key), s.Data[key], 0o600); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	id := identity.NewFileSource(dir)
	conn, err := grpc.NewClient(poolAddress, grpc.WithTransportCredentials(credentials.NewTLS(identity.ClientConfig(id, poolSNI))))
	if err != nil {
		t.Fatalf("dialing ssm-pool as a proxy of %s: %v", pool, err)
	}
	t.Cleanup(func() { conn.Close() })
	forwarded := &atomic.Int32{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	node := pool + "-proxy-0"
	proxy, err := standin.Start(ctx, standin.Config{
		Conn: conn,
		Node: &corev3.Node{Id: node, Cluster: poolNS + "/" + pool, Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
			ssm.PoolProxyPodIPMetadataKey: structpb.NewStringValue(testIP),
		}}},
		Listen:   map[uint32]string{ssm.PoolProxyPort: fmt.Sprintf("%s:%d", testIP, ssm.PoolProxyPort)},
		Identity: id,
		Logf: func(format string, args ...any) {
			forwarded.Add(1)
			t.Logf("stand-in %s: "+format, append([]any{node}, args...)...)
		},
	})
	if err != nil {
		t.Fatalf("starting the stand-in of %s: %v", pool, err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	return proxy, forwarded
}
