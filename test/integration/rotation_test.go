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

// This file is named to sort last: the rotation it runs leaves SSM with a
// new CA for every test after it, and a test that depends on a component
// that did not follow should not be what reports it.

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestDataplaneCARotation rotates SSM's CA on the running data plane while
// a sidecar-less, leased revision serves a steady trickle of requests
// through SSM's activator. Then it and a never-leased sidecar-less
// revision cold-start, so that the pooled proxy → pod and activator → pod
// hops handshake anew with leaves of the new CA. Not one request may fail. The new CA is trusted everywhere (every leaf Secret's
// bundle) before it signs anything, and it signs after TrustPropagation;
// mounted certificates follow their Secrets as the kubelet refreshes them
// (test/podrunner, localpod secret-sync).
func TestDataplaneCARotation(t *testing.T) {
	requireDataplane(t)
	c := newClients(t)
	ctx := context.Background()
	ensureNamespace(t, c, dataplaneNS)
	const service, revision = "rotate", "rotate-00001"
	deployFunction(t, c, service, map[string]string{"ssm.dev/lifecycle": "short-lived"})
	// Never leased: the activator itself reaches its pods over mTLS.
	const direct, directRevision = "rotate-direct", "rotate-direct-00001"
	deployFunction(t, c, direct, map[string]string{"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none"})

	client := &http.Client{Timeout: 30 * time.Second}
	want := "hello from " + revision
	forwarded := "for cluster ssm/" + dataplaneNS + "/" + revision + " to "
	eventually(t, "a request of "+revision+" through a leased pooled proxy", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		if err != nil || code != http.StatusOK || body != want {
			return false, fmt.Errorf("status %d body %q err %v", code, body, err)
		}
		logs, err := standinLogs(c)
		return strings.Contains(logs, forwarded), err
	})
	directWant := "hello from " + directRevision
	eventually(t, "a response from "+directRevision+" through SSM's activator", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, direct, directRevision, "/")
		return code == http.StatusOK && body == directWant, fmt.Errorf("status %d body %q err %v", code, body, err)
	})
	oldCA := caSecretCert(t, c)

	// A steady trickle, bounded in time and count, for the whole rotation.
	var (
		mu       sync.Mutex
		sent     int
		failures []string
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(5 * time.Minute)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			code, body, err := activatorGet(rctx, client, service, revision, "/")
			cancel()
			mu.Lock()
			sent++
			if err != nil || code != http.StatusOK || body != want {
				failures = append(failures, fmt.Sprintf("%s: status %d body %q err %v", time.Now().Format(time.RFC3339Nano), code, body, err))
			}
			mu.Unlock()
		}
	}()
	stopTrickle := sync.OnceFunc(func() {
		close(stop)
		<-done
	})
	defer stopTrickle()

	patch := fmt.Sprintf(`{"metadata":{"annotations":{"ssm.dev/rotate-ca":%q}}}`, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := c.kube.CoreV1().Secrets("ssm-ca").Patch(ctx, "ssm-ca", types.MergePatchType, []byte(patch), apimeta.PatchOptions{}); err != nil {
		t.Fatalf("asking for a CA rotation: %v", err)
	}
	started := time.Now()

	// Introduce: every leaf Secret carries the old and the new CA.
	leaves := [][2]string{
		{"knative-serving", "ssm-activator-tls"}, {"knative-serving", "ssm-pool-tls"},
		{"knative-serving", "ssm-proxy-default-identity"}, {dataplaneNS, "ssm-workload-default"},
	}
	eventually(t, "every leaf Secret trusting the old and the new CA", 30*time.Second, func(ctx context.Context) (bool, error) {
		for _, l := range leaves {
			s, err := c.kube.CoreV1().Secrets(l[0]).Get(ctx, l[1], apimeta.GetOptions{})
			if err != nil {
				return false, err
			}
			if n := len(pemCerts(s.Data["ca.crt"])); n != 2 {
				return false, fmt.Errorf("%s/%s trusts %d CAs", l[0], l[1], n)
			}
		}
		return true, nil
	})
	t.Logf("new CA in every bundle %v after the request", time.Since(started).Round(time.Millisecond))

	// Promote, after TrustPropagation (2m): the new CA signs and every leaf
	// is re-issued by it.
	var newCA *x509.Certificate
	eventually(t, "every leaf re-issued by the new CA", 4*time.Minute, func(ctx context.Context) (bool, error) {
		newCA = caSecretCert(t, c)
		if newCA.Equal(oldCA) {
			return false, fmt.Errorf("the old CA still signs")
		}
		for _, l := range leaves {
			s, err := c.kube.CoreV1().Secrets(l[0]).Get(ctx, l[1], apimeta.GetOptions{})
			if err != nil {
				return false, err
			}
			certs := pemCerts(s.Data["tls.crt"])
			if len(certs) == 0 || certs[0].CheckSignatureFrom(newCA) != nil {
				return false, fmt.Errorf("%s/%s is not signed by the new CA yet", l[0], l[1])
			}
		}
		return true, nil
	})
	t.Logf("every leaf signed by the new CA %v after the request", time.Since(started).Round(time.Millisecond))

	// The trickle goes on for 40 more requests while the new leaves reach
	// the mounts, then stops so that the revision can go to zero.
	mu.Lock()
	mark := sent
	mu.Unlock()
	eventually(t, "40 more requests with the new leaves in place", time.Minute, func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return sent >= mark+40, fmt.Errorf("%d sent", sent-mark)
	})
	stopTrickle()
	mu.Lock()
	if sent < 100 {
		t.Errorf("only %d requests were sent during the rotation; the trickle did not run", sent)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed during the CA rotation:\n%s", len(failures), sent, strings.Join(failures, "\n"))
	}
	t.Logf("%d requests during the rotation, none failed", sent-len(failures))
	mu.Unlock()

	// New handshakes with new leaves: a cold start through a leased proxy.
	before, err := standinLogs(c)
	if err != nil {
		t.Fatal(err)
	}
	waitScaledToZero(t, c, revision)
	took := burstFromZero(t, client, service, revision, want, 5)
	eventually(t, "a request after the rotation through a leased pooled proxy", 60*time.Second, func(ctx context.Context) (bool, error) {
		code, body, err := activatorGet(ctx, client, service, revision, "/")
		if err != nil || code != http.StatusOK || body != want {
			return false, fmt.Errorf("status %d body %q err %v", code, body, err)
		}
		logs, err := standinLogs(c)
		return strings.Count(logs, forwarded) > strings.Count(before, forwarded), err
	})
	t.Logf("cold start after the rotation: a burst of 5 answered within %v", took.Round(time.Millisecond))

	// And the activator's own mTLS to a new pod whose leaf the new CA signed
	// (it idled to zero during the rotation).
	waitScaledToZero(t, c, directRevision)
	took = burstFromZero(t, client, direct, directRevision, directWant, 5)
	t.Logf("cold start of a never-leased revision after the rotation: a burst of 5 answered within %v", took.Round(time.Millisecond))
}

// caSecretCert is the CA that signs now (ca.crt of ssm-ca/ssm-ca).
func caSecretCert(t *testing.T, c *clients) *x509.Certificate {
	t.Helper()
	s, err := c.kube.CoreV1().Secrets("ssm-ca").Get(context.Background(), "ssm-ca", apimeta.GetOptions{})
	if err != nil {
		t.Fatalf("reading the CA Secret: %v", err)
	}
	certs := pemCerts(s.Data["ca.crt"])
	if len(certs) != 1 {
		t.Fatalf("the CA Secret's ca.crt holds %d certificates, want 1", len(certs))
	}
	return certs[0]
}

func pemCerts(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, cert)
		}
	}
}
