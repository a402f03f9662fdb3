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
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// compressObservation shortens config-ssm's observation for a test (a 10 s
// window, one window of dwell, a scrape every 2 s, 10 samples) and puts the
// shipped values back at cleanup.
func compressObservation(t *testing.T, c *clients) {
	t.Helper()
	patch := func(data string) error {
		_, err := c.kube.CoreV1().ConfigMaps("knative-serving").Patch(context.Background(), "config-ssm", types.MergePatchType,
			[]byte(`{"data":`+data+`}`), metav1.PatchOptions{})
		return err
	}
	if err := patch(`{"observation-window":"10s","observation-dwell-windows":"1","observation-scrape-interval":"2s","min-samples":"10"}`); err != nil {
		t.Fatalf("compressing config-ssm's observation: %v", err)
	}
	t.Cleanup(func() {
		if err := patch(`{"observation-window":null,"observation-dwell-windows":null,"observation-scrape-interval":null,"min-samples":null}`); err != nil {
			t.Errorf("restoring config-ssm's observation: %v", err)
		}
	})
}

// load sends GET path to the revision through the activator every period
// until stop is closed, so that its pod stays up and is scraped.
func load(service, revision, path string, period time.Duration, concurrent int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	for range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(period)
			defer tick.Stop()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				_, _, _ = activatorGet(ctx, client, service, revision, path)
				cancel()
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// routeState is what the KIngress routes of a revision say: the class on
// its DestinationRule and the timeout of its ingress routes.
func routeState(ctx context.Context, c *clients, service string) (class, timeout string, err error) {
	drs, err := c.istio.NetworkingV1beta1().DestinationRules(dataplaneNS).List(ctx, metav1.ListOptions{
		LabelSelector: "networking.internal.knative.dev/ingress=" + service,
	})
	if err != nil || len(drs.Items) == 0 {
		return "", "", fmt.Errorf("DestinationRules of %s: %d, %v", service, len(drs.Items), err)
	}
	class = drs.Items[0].Annotations["ssm.dev/lifecycle-class"]
	vs, err := c.istio.NetworkingV1beta1().VirtualServices(dataplaneNS).Get(ctx, service+"-ingress", metav1.GetOptions{})
	if err != nil {
		return class, "", err
	}
	for _, r := range vs.Spec.GetHttp() {
		if r.GetTimeout() != nil {
			timeout = r.GetTimeout().AsDuration().String()
		}
	}
	return class, timeout, nil
}

// TestDataplaneAutoFollowsTheFunction: an "auto" revision, observed through
// queue-proxy's request metrics as the install sets them up, with
// config-ssm's observation compressed. Answering in 100 ms it becomes
// short-lived (after the dwell) with a 1 s route timeout; slowing to 800 ms
// it stays short-lived but its route timeout follows at once (4 s); taking
// 12 s it crosses to long-lived once, after the dwell, and stays there. Each
// class change is an Event on the Revision.
func TestDataplaneAutoFollowsTheFunction(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	compressObservation(t, c)
	const service = "auto-fn"
	revision := deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "auto"})

	if class, _, err := routeState(ctx, c, service); err != nil || class != "long-lived" {
		t.Fatalf("before any observation: class %q (%v), want auto-initial-lifecycle long-lived", class, err)
	}

	stop := load(service, revision, "/sleep?d=100ms", 200*time.Millisecond, 2)
	eventually(t, revision+" short-lived with a 1s timeout", 90*time.Second, func(ctx context.Context) (bool, error) {
		class, timeout, err := routeState(ctx, c, service)
		return class == "short-lived" && timeout == "1s", fmt.Errorf("class %q timeout %q err %v", class, timeout, err)
	})
	stop()

	start := time.Now()
	stop = load(service, revision, "/sleep?d=800ms", 300*time.Millisecond, 3)
	eventually(t, revision+" still short-lived, its timeout following the function", 60*time.Second, func(ctx context.Context) (bool, error) {
		class, timeout, err := routeState(ctx, c, service)
		if err == nil && class != "short-lived" {
			t.Fatalf("class %q after slowing to 800 ms, want short-lived (below the 1 s threshold)", class)
		}
		return timeout == "4s", fmt.Errorf("class %q timeout %q err %v", class, timeout, err)
	})
	t.Logf("route timeout re-derived %v after the function slowed to 800 ms (window 10 s, scrape 2 s)", time.Since(start).Round(time.Second))
	stop()

	stop = load(service, revision, "/sleep?d=12s", time.Second, 12)
	defer stop()
	var changedAt time.Time
	eventually(t, revision+" long-lived", 120*time.Second, func(ctx context.Context) (bool, error) {
		class, _, err := routeState(ctx, c, service)
		changedAt = time.Now()
		return class == "long-lived", fmt.Errorf("class %q err %v", class, err)
	})
	// No flapping: it stays long-lived while the function stays slow.
	for time.Since(changedAt) < 15*time.Second {
		if class, _, err := routeState(ctx, c, service); err != nil || class != "long-lived" {
			t.Fatalf("class %q (%v) after crossing to long-lived, want it to stay", class, err)
		}
		time.Sleep(time.Second)
	}

	events, err := c.kube.CoreV1().Events(dataplaneNS).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + revision + ",reason=LifecycleClassChanged",
	})
	if err != nil {
		t.Fatal(err)
	}
	var messages []string
	for _, e := range events.Items {
		messages = append(messages, e.Message)
	}
	all := strings.Join(messages, "\n")
	for _, want := range []string{"long-lived → short-lived (from observed: p50", "short-lived → long-lived (from observed: p50"} {
		if !strings.Contains(all, want) {
			t.Errorf("Events of %s lack %q; got:\n%s", revision, want, all)
		}
	}
}
