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
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDataplaneSidecarlessSSMRevision: a short-lived SSM revision whose pod
// really runs without a sidecar (config-ssm sidecarless-revisions is on in
// the data-plane cluster). SSM's activator reaches it over mTLS on the
// queue-proxy plugin's port with its own certificate; the pod presents the
// workload certificate the controller issued. Plaintext from outside the
// pod, and mTLS with an identity the plugin does not admit, are refused.
func TestDataplaneSidecarlessSSMRevision(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ensureNamespace(t, c, dataplaneNS)
	const service, revision = "fn", "fn-00001"

	deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/timeout": "5s"})

	// The pod is sidecar-less and runs the plugin, as the webhook decided.
	var pod corev1.Pod
	eventually(t, "a running pod of fn", 60*time.Second, func(ctx context.Context) (bool, error) {
		pods, err := revisionPods(ctx, c, revision)
		if err != nil || len(pods) == 0 || pods[0].Status.PodIP == "" {
			return false, fmt.Errorf("%d pods, err %v", len(pods), err)
		}
		pod = pods[0]
		return true, nil
	})
	for k, want := range map[string]string{
		"sidecar.istio.io/inject":           "false",
		"qpoption.knative.dev/ssm-activate": "enable",
		"ssm.dev/mtls-mode":                 "lightweight",
	} {
		if got := pod.Annotations[k]; got != want {
			t.Errorf("pod annotation %s = %q, want %q", k, got, want)
		}
	}

	// Its user container is behind queue-proxy: the controller keeps a
	// NetworkPolicy that admits only queue-proxy's ports. (Nothing here
	// enforces NetworkPolicies; on a cluster, the network plugin does.)
	eventually(t, "the NetworkPolicy of "+revision, 30*time.Second, func(ctx context.Context) (bool, error) {
		np, err := c.kube.NetworkingV1().NetworkPolicies(dataplaneNS).Get(ctx, revision+"-ssm", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var ports []int32
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				ports = append(ports, p.Port.IntVal)
			}
		}
		want := []int32{8012, 8013, 8022, 8112, 8113, 9090, 9091}
		return np.Spec.PodSelector.MatchLabels["serving.knative.dev/revision"] == revision && len(np.Spec.Ingress) == 1 &&
			len(np.Spec.Ingress[0].From) == 0 && slices.Equal(ports, want), fmt.Errorf("spec %+v", np.Spec)
	})

	// Through SSM's activator: mTLS to the plugin, answered by the function.
	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	eventually(t, "a response from "+revision+" through SSM's activator", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		return code == http.StatusOK && body == want, fmt.Errorf("status %d body %q err %v", code, body, err)
	})

	// Scale from zero: with no pooled proxy connected the lease is refused
	// at once and the activator's own path (over mTLS) serves the burst.
	if err := checkPlaintextAndIdentity(t, c, client, pod); err != nil {
		t.Fatal(err)
	}
	waitScaledToZero(t, c, revision)
	took := burstFromZero(t, client, service, revision, want, 10)
	t.Logf("sidecar-less revision from zero: a burst of 10 answered over mTLS within %v", took.Round(time.Millisecond))
}

// checkPlaintextAndIdentity: plaintext from outside the pod, and mTLS with an
// identity the plugin does not admit, never reach the function.
func checkPlaintextAndIdentity(t *testing.T, c *clients, client *http.Client, pod corev1.Pod) error {
	t.Helper()
	ctx := context.Background()
	// Plaintext straight to the pod's queue-proxy, from outside the pod.
	resp, err := client.Get("http://" + net.JoinHostPort(pod.Status.PodIP, "8012") + "/")
	if err != nil {
		return fmt.Errorf("plaintext GET to the pod: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("plaintext from outside the pod: %d %q, want 403", resp.StatusCode, body)
	}

	// mTLS with a certificate of SSM's CA whose identity the plugin does not
	// admit (the controller's).
	s, err := c.kube.CoreV1().Secrets("knative-serving").Get(ctx, "ssm-controller-tls", metav1.GetOptions{})
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.Data["ca.crt"])
	wrong := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS13,
		ServerName: "default." + dataplaneNS + ".svc",
	}}}
	if resp, err := wrong.Get("https://" + net.JoinHostPort(pod.Status.PodIP, "8113") + "/"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Errorf("mTLS as ssm-controller reached the pod: %d %q, want a refused handshake", resp.StatusCode, body)
	}
	return nil
}

// TestDataplaneLeasedColdStart: SSM's activator leases a pooled proxy (the
// stand-in, connected to ssm-pool as a proxy of knative-serving/default) on a
// short-lived revision's first request; once its pod is ready, requests go
// through the leased proxy, which reaches the pod over mTLS. After scale to
// zero, a burst is answered again.
func TestDataplaneLeasedColdStart(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const service, revision = "leased", "leased-00001"

	deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived"})

	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	forwarded := "for cluster ssm/" + dataplaneNS + "/" + revision + " to "
	// Every response is the function's; within a few requests one has
	// gone through a leased stand-in (its log names the revision's cluster).
	eventually(t, "a request of "+revision+" through a leased pooled proxy", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		if err != nil || code != http.StatusOK || body != want {
			t.Fatalf("request through the activator: status %d body %q err %v, want 200 %q", code, body, err, want)
		}
		logs, err := standinLogs(c)
		return strings.Contains(logs, forwarded), err
	})
	granted, err := poolMetric(ctx, c, `ssm_pool_leases_total{outcome="granted"}`)
	if err != nil || granted < 1 {
		t.Errorf("ssm_pool_leases_total{outcome=\"granted\"} = %v (%v), want at least 1", granted, err)
	}

	waitScaledToZero(t, c, revision)
	took := burstFromZero(t, client, service, revision, want, 10)
	t.Logf("leased revision from zero: a burst of 10 answered within %v", took.Round(time.Millisecond))
}

// burstFromZero sends n concurrent requests to a revision at zero through
// the activator; every one must be answered 200 with want. It returns how
// long the last answer took.
func burstFromZero(t *testing.T, client *http.Client, service, revision, want string, n int) time.Duration {
	t.Helper()
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			code, body, err := activatorGet(ctx, client, service, revision, "/")
			if err != nil || code != http.StatusOK || body != want {
				errs <- fmt.Errorf("status %d body %q err %v", code, body, err)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("burst request to %s from zero: %v, want 200 %q", revision, err, want)
		}
	}
	return time.Since(start)
}

// standinLogs are the pooled stand-ins' logs (hack/cluster.sh).
func standinLogs(c *clients) (string, error) {
	var b strings.Builder
	for _, name := range []string{"standin-0", "standin-1"} {
		data, err := os.ReadFile(filepath.Join(c.stateDir, "logs", name+".log"))
		if err != nil {
			return "", err
		}
		b.Write(data)
	}
	return b.String(), nil
}
