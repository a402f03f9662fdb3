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
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	// crowdClients is how many clients send one request each, all at once,
	// to a revision at zero, in each of crowdCycles cycles.
	crowdClients = 1000
	crowdCycles  = 3
	// crowdRequestTimeout bounds each request; crowdCycleTimeout the whole
	// burst of a cycle.
	crowdRequestTimeout = 60 * time.Second
	crowdCycleTimeout   = 90 * time.Second
)

// TestDataplaneThousandClientsFromZero: 1000 concurrent clients over three
// 0→1 cycles of a short-lived revision that leases from the default pool.
// Each cycle waits for scale to zero, then every client sends one request
// with an ID of its own through SSM's activator. None may be lost (each gets
// 200 with its own ID echoed by the right revision) and none looped or run
// twice (the function served each ID exactly once). The revision is capped at
// one pod, so one function process counts every ID of a cycle.
func TestDataplaneThousandClientsFromZero(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ensureNamespace(t, c, dataplaneNS)
	const service = "crowd"
	revision := deployFunction(t, c, service, map[string]string{
		"ssm.dev/lifecycle":                 "short-lived",
		"autoscaling.knative.dev/max-scale": "1",
	})
	forwarded := "for cluster ssm/" + dataplaneNS + "/" + revision + " "
	// One connection per client: the activator sees 1000 concurrent
	// connections, as from 1000 callers.
	client := &http.Client{Timeout: crowdRequestTimeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: crowdClients, DisableKeepAlives: true,
	}}
	for cycle := range crowdCycles {
		waitScaledToZero(t, c, revision)
		logsBefore, err := standinLogs(c)
		if err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("cycle%d-", cycle)
		took, failed, failures := crowdBurst(t, client, service, revision, prefix)
		for _, f := range failures {
			t.Error(f)
		}
		counts, err := servedCounts(context.Background(), client, service, revision, prefix)
		if err != nil {
			t.Fatal(err)
		}
		checkServedOnce(t, counts, prefix, crowdClients)
		logs, err := standinLogs(c)
		if err != nil {
			t.Fatal(err)
		}
		viaLease := strings.Count(logs[len(logsBefore):], forwarded)
		t.Logf("cycle %d: %d clients from zero, %d failed, all answered within %v (%d through a leased stand-in)",
			cycle, crowdClients, failed, took.Round(time.Millisecond), viaLease)
	}
}

// crowdBurst sends crowdClients concurrent requests /?id=<prefix><i> through
// the activator and returns how long the last answer took, how many failed
// and how (at most ten, sorted).
func crowdBurst(t *testing.T, client *http.Client, service, revision, prefix string) (time.Duration, int, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), crowdCycleTimeout)
	defer cancel()
	want := "hello from " + revision + " id "
	errs := make(chan string, crowdClients)
	start := time.Now()
	for i := range crowdClients {
		go func() {
			id := fmt.Sprintf("%s%d", prefix, i)
			code, body, err := activatorGet(ctx, client, service, revision, "/?id="+id)
			if err != nil || code != http.StatusOK || body != want+id {
				errs <- fmt.Sprintf("request %s: status %d body %q err %v, want 200 %q", id, code, body, err, want+id)
				return
			}
			errs <- ""
		}()
	}
	var failures []string
	for range crowdClients {
		if e := <-errs; e != "" {
			failures = append(failures, e)
		}
	}
	took := time.Since(start)
	failed := len(failures)
	sort.Strings(failures)
	if failed > 10 {
		failures = append(failures[:10], fmt.Sprintf("... and %d more failed requests", failed-10))
	}
	return took, failed, failures
}
