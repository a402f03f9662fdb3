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
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// poolMetric sums a series over every ready ssm-pool replica's metrics
// endpoint (each replica counts only its own proxies and leases); a series
// a replica does not expose yet counts 0 there.
func poolMetric(ctx context.Context, c *clients, series string) (float64, error) {
	eps, err := c.kube.CoreV1().Endpoints("knative-serving").Get(ctx, "ssm-pool", metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	sum, replicas := 0.0, 0
	for _, subset := range eps.Subsets {
		for _, a := range subset.Addresses {
			v, _, err := metricSample(ctx, "http://"+a.IP+":9090/metrics", series)
			if err != nil {
				return 0, fmt.Errorf("ssm-pool replica %s: %w", a.IP, err)
			}
			sum += v
			replicas++
		}
	}
	if replicas == 0 {
		return 0, fmt.Errorf("no ready ssm-pool replica")
	}
	return sum, nil
}

// deployFunction creates the Knative Service name in dataplaneNS, whose pods
// really run test/function, with the given revision annotations; waits until
// it is Ready; and at cleanup deletes it and waits for its pods to go. It
// returns the name of its revision. No request is sent: the first one
// through the activator is the revision's first cold start there.
func deployFunction(t *testing.T, c *clients, name string, annotations map[string]string) string {
	t.Helper()
	return deployFunctionSpec(t, c, name, annotations, servingv1.RevisionSpec{})
}

// deployFunctionSpec is deployFunction with the revision's containerConcurrency,
// timeoutSeconds and container port (its name says the protocol: h2c for
// HTTP/2) taken from spec; its image is always the test function's.
func deployFunctionSpec(t *testing.T, c *clients, name string, annotations map[string]string, spec servingv1.RevisionSpec) string {
	t.Helper()
	return deployLabelledFunction(t, c, name, nil, annotations, spec)
}

// deployLabelledFunction is deployFunctionSpec with labels on the Knative
// Service itself, which is what a ServerlessPolicy selects.
func deployLabelledFunction(t *testing.T, c *clients, name string, labels, annotations map[string]string, spec servingv1.RevisionSpec) string {
	t.Helper()
	ctx := context.Background()
	revision := name + "-00001"
	// Every served ID is journaled where the test can read it after
	// Knative has scaled the pod away (servedJournal).
	if err := os.MkdirAll(journalDir(c), 0o755); err != nil {
		t.Fatal(err)
	}
	container := corev1.Container{Image: "ssm.local/hello", Env: []corev1.EnvVar{{Name: "SERVED_JOURNAL_DIR", Value: journalDir(c)}}}
	if len(spec.Containers) > 0 {
		container.Ports = spec.Containers[0].Ports
	}
	spec.PodSpec = corev1.PodSpec{Containers: []corev1.Container{container}}
	ksvc := &servingv1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: dataplaneNS, Labels: labels},
		Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{
				Labels:      map[string]string{"ssm.dev/local-run": "true"},
				Annotations: annotations,
			},
			Spec: spec,
		}}},
	}
	if _, err := c.serving.ServingV1().Services(dataplaneNS).Create(ctx, ksvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Knative Service %s/%s: %v", dataplaneNS, name, err)
	}
	t.Cleanup(func() {
		if err := c.serving.ServingV1().Services(dataplaneNS).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting Knative Service %s/%s: %v", dataplaneNS, name, err)
		}
		eventually(t, "pods of "+name+" gone after deleting it", 60*time.Second, func(ctx context.Context) (bool, error) {
			pods, err := revisionPods(ctx, c, revision)
			return err == nil && len(pods) == 0, err
		})
	})
	eventually(t, "Knative Service "+name+" Ready", 120*time.Second, func(ctx context.Context) (bool, error) {
		s, err := c.serving.ServingV1().Services(dataplaneNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return s.IsReady(), fmt.Errorf("status %+v", s.Status.Conditions)
	})
	return revision
}

// waitScaledToZero waits until the revision has no pod (the data-plane
// cluster's autoscaler scales an idle revision to zero after ~12 s).
func waitScaledToZero(t *testing.T, c *clients, revision string) {
	t.Helper()
	eventually(t, revision+" scaled to zero (no pods)", 180*time.Second, func(ctx context.Context) (bool, error) {
		pods, err := revisionPods(ctx, c, revision)
		return err == nil && len(pods) == 0, fmt.Errorf("%d pods, err %v", len(pods), err)
	})
}

// clusterCommand runs hack/cluster.sh (named by SSM_CLUSTER_SH, which
// hack/integration.sh sets) with args, bounded to a minute.
func clusterCommand(t *testing.T, args ...string) {
	t.Helper()
	script := os.Getenv("SSM_CLUSTER_SH")
	if script == "" {
		t.Fatal("SSM_CLUSTER_SH is not set: run the integration tests with hack/integration.sh")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// metricSample reads one sample (name with its labels, as exposed) from a
// Prometheus text endpoint; found is false when the series is not there
// (a counter vector before its first increment).
func metricSample(ctx context.Context, url, series string) (value float64, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil, err
		}
	}
	return 0, false, sc.Err()
}

// poolCounter is an ssm-pool counter, summed over its replicas.
func poolCounter(t *testing.T, c *clients, series string) float64 {
	t.Helper()
	v, err := poolMetric(context.Background(), c, series)
	if err != nil {
		t.Fatalf("reading %s from ssm-pool: %v", series, err)
	}
	return v
}

// servedCounts asks the revision's function (through the activator) how
// often it served each request ID that starts with prefix.
func servedCounts(ctx context.Context, client *http.Client, service, revision, prefix string) (map[string]int, error) {
	code, body, err := activatorGet(ctx, client, service, revision, "/served?prefix="+prefix)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("GET /served of %s: status %d body %q err %v", revision, code, body, err)
	}
	counts := map[string]int{}
	if err := json.Unmarshal([]byte(body), &counts); err != nil {
		return nil, fmt.Errorf("GET /served of %s: %w", revision, err)
	}
	return counts, nil
}

// checkServedOnce fails the test unless the function served exactly the
// IDs prefix0 … prefix(n-1), each once.
func checkServedOnce(t *testing.T, counts map[string]int, prefix string, n int) {
	t.Helper()
	missing, twice := 0, 0
	for i := range n {
		switch got := counts[prefix+strconv.Itoa(i)]; {
		case got == 0:
			missing++
		case got > 1:
			twice++
			t.Errorf("request %s%d was served %d times, want once", prefix, i, got)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d requests %s* were never served by the function", missing, n, prefix)
	}
	if extra := len(counts) - (n - missing); extra > 0 {
		t.Errorf("the function served %d request IDs %s* the test never sent", extra, prefix)
	}
}

// journalDir is where the test function journals the IDs it served.
func journalDir(c *clients) string {
	return filepath.Join(c.stateDir, "served")
}

// servedJournal counts, over every process that ever ran revision's
// function, how often each ID with prefix was served: the journals outlive
// pods that Knative scaled down before the counts were read.
func servedJournal(c *clients, revision, prefix string) (map[string]int, error) {
	files, err := filepath.Glob(filepath.Join(journalDir(c), revision+"-*.log"))
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading journal %s: %w", f, err)
		}
		for _, id := range strings.Split(string(data), "\n") {
			if id != "" && strings.HasPrefix(id, prefix) {
				counts[id]++
			}
		}
	}
	return counts, nil
}
