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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// setSidecarlessRevisions sets config-ssm's switch and, at cleanup, puts
// the data-plane cluster's "true" back.
func setSidecarlessRevisions(t *testing.T, c *clients, value string) {
	t.Helper()
	patch := func(v string) error {
		_, err := c.kube.CoreV1().ConfigMaps("knative-serving").Patch(context.Background(), "config-ssm", types.MergePatchType,
			[]byte(`{"data":{"sidecarless-revisions":"`+v+`"}}`), metav1.PatchOptions{})
		return err
	}
	if err := patch(value); err != nil {
		t.Fatalf("setting config-ssm sidecarless-revisions to %q: %v", value, err)
	}
	t.Cleanup(func() {
		if err := patch("true"); err != nil {
			t.Errorf("restoring config-ssm sidecarless-revisions: %v", err)
		}
	})
}

// TestDataplaneShippedDefaultNeverLeases: with config-ssm's shipped
// sidecarless-revisions "false", an annotated short-lived revision keeps
// its sidecar (no plugin on its pod), so nothing may lease a proxy for it:
// 200 requests from zero are all answered once by the function, none
// through a pooled proxy, and ssm-pool grants no lease.
func TestDataplaneShippedDefaultNeverLeases(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ensureNamespace(t, c, dataplaneNS)
	setSidecarlessRevisions(t, c, "false")
	const service, requests = "shipped-default", 200
	revision := deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived"})

	// The revisions webhook stamped the revision as keeping its sidecar,
	// and the Deployment webhook kept it: no plugin switch on the pod.
	rev, err := c.serving.ServingV1().Revisions(dataplaneNS).Get(context.Background(), revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rev.Annotations["resolved.ssm.dev/pods"]; got != "sidecar" {
		t.Errorf("Revision %s stamped resolved.ssm.dev/pods %q, want %q", revision, got, "sidecar")
	}
	pods, err := revisionPods(context.Background(), c, revision)
	if err != nil || len(pods) == 0 {
		t.Fatalf("pods of %s: %d, %v", revision, len(pods), err)
	}
	if got := pods[0].Annotations["qpoption.knative.dev/ssm-activate"]; got != "" {
		t.Fatalf("pod of %s has the plugin switch %q with sidecar-less revisions off", revision, got)
	}
	waitScaledToZero(t, c, revision)
	granted := `ssm_pool_leases_total{outcome="granted"}`
	grantedBefore := poolCounter(t, c, granted)

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: requests}}
	want := "hello from " + revision
	errs := make(chan error, requests)
	for i := range requests {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			id := fmt.Sprintf("default-%d", i)
			code, body, err := activatorGet(ctx, client, service, revision, "/?id="+id)
			if err != nil || code != http.StatusOK || body != want+" id "+id {
				errs <- fmt.Errorf("request %s: status %d body %q err %v", id, code, body, err)
				return
			}
			errs <- nil
		}()
	}
	for range requests {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	counts, err := servedCounts(context.Background(), client, service, revision, "default-")
	if err != nil {
		t.Fatal(err)
	}
	checkServedOnce(t, counts, "default-", requests)
	if got := poolCounter(t, c, granted); got != grantedBefore {
		t.Errorf("ssm-pool granted %v leases during the burst, want none", got-grantedBefore)
	}
	logs, err := standinLogs(c)
	if err != nil {
		t.Fatal(err)
	}
	if through := "for cluster ssm/" + dataplaneNS + "/" + revision + " "; strings.Contains(logs, through) {
		t.Errorf("a pooled proxy carried requests of %s (%q in its log)", revision, through)
	}
}
