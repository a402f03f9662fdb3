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
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	dataplaneNS = "dataplane"
	// activatorAddr is Knative's activator (hack/cluster.sh, kn-activator).
	activatorAddr = "10.200.0.23:8012"
	// burstSize is how many requests arrive at once at a revision at zero.
	burstSize = 20
)

// requireDataplane skips unless hack/cluster.sh runs pods for real
// (SSM_KNATIVE=1 SSM_DATAPLANE=1: test/podrunner).
func requireDataplane(t *testing.T) {
	t.Helper()
	requireKnative(t)
	if os.Getenv("SSM_DATAPLANE") != "1" {
		t.Skip("the running data plane is off: set SSM_DATAPLANE=1 (with SSM_KNATIVE=1) for hack/integration.sh")
	}
}

// activatorGet sends GET path to service's revision through the activator,
// which picks the revision from these headers as it does behind an ingress.
func activatorGet(ctx context.Context, client *http.Client, service, revision, path string) (int, string, error) {
	return revisionGet(ctx, client, activatorAddr, service, revision, path)
}

// revisionGet sends GET path for service's revision to addr (the activator,
// or a pooled proxy) with the headers a KIngress split adds.
func revisionGet(ctx context.Context, client *http.Client, addr, service, revision, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Knative-Serving-Namespace", dataplaneNS)
	req.Header.Set("Knative-Serving-Revision", revision)
	req.Host = service + "." + dataplaneNS + ".example.com"
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s for %s: %w", path, revision, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body), err
}

func revisionPods(ctx context.Context, c *clients, revision string) ([]corev1.Pod, error) {
	pods, err := c.kube.CoreV1().Pods(dataplaneNS).List(ctx, metav1.ListOptions{
		LabelSelector: "serving.knative.dev/revision=" + revision})
	if err != nil {
		return nil, fmt.Errorf("listing pods of %s: %w", revision, err)
	}
	return pods.Items, nil
}

// TestDataplaneScaleFromZeroPlainKnative: a plain Knative Service (no
// ssm.dev annotations) whose pods really run: its queue-proxy is ours
// (cmd/queue), its user container test/function. Requests through Knative's
// activator are answered by the function; once scaled to zero, a burst of
// concurrent requests scales it from zero and every one is answered.
func TestDataplaneScaleFromZeroPlainKnative(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const revision = "hello-00001"

	created := time.Now()
	// Knative copies template labels to the pods: ssm.dev/local-run hands
	// them to test/podrunner instead of KWOK.
	deployFunction(t, c, "hello", nil)
	t.Logf("Knative Service Ready %v after create", time.Since(created).Round(time.Millisecond))

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: burstSize}}
	want := "hello from " + revision
	eventually(t, "a response from "+revision+" through the activator", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, "hello", revision, "/")
		return code == http.StatusOK && body == want, fmt.Errorf("status %d body %q err %v", code, body, err)
	})

	idle := time.Now()
	waitScaledToZero(t, c, revision)
	t.Logf("scaled to zero %v after the last request", time.Since(idle).Round(time.Millisecond))

	// The burst: every request must be answered by the function, through
	// the activator, while Knative scales the revision from zero.
	type result struct {
		code    int
		body    string
		err     error
		elapsed time.Duration
	}
	results := make([]result, burstSize)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range burstSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/"
			if i%2 == 1 {
				path = "/sleep?d=100ms"
			}
			ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			code, body, err := activatorGet(ctx, client, "hello", revision, path)
			results[i] = result{code: code, body: body, err: err, elapsed: time.Since(start)}
		}()
	}
	wg.Wait()
	var elapsed []time.Duration
	for i, r := range results {
		if r.err != nil || r.code != http.StatusOK || r.body != want {
			t.Errorf("burst request %d: status %d body %q err %v, want 200 %q", i, r.code, r.body, r.err, want)
		}
		elapsed = append(elapsed, r.elapsed)
	}
	sort.Slice(elapsed, func(i, j int) bool { return elapsed[i] < elapsed[j] })
	t.Logf("scale from zero, burst of %d: first response after %v, median %v, last %v",
		burstSize, elapsed[0].Round(time.Millisecond), elapsed[burstSize/2].Round(time.Millisecond),
		elapsed[burstSize-1].Round(time.Millisecond))
}
