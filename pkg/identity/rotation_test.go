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

package identity

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	logtesting "knative.dev/pkg/logging/testing"
)

// party is one side of an mTLS connection as a pod holds it: the files of
// its leaf Secret at the time it last saw them.
type party struct {
	name                   string
	certPEM, keyPEM, caPEM []byte
}

// withBundle is p with another trust bundle (a mount that caught up).
func (p party) withBundle(name string, caPEM []byte) party {
	p.name, p.caPEM = name, caPEM
	return p
}

func (p party) source(t *testing.T) CertSource {
	t.Helper()
	cert, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.caPEM) {
		t.Fatalf("%s: no CA in its bundle", p.name)
	}
	return staticSource{cert: &cert, bundle: pool}
}

// handshake connects client to server over loopback TCP with the TLS
// configs SSM's components use (startTLSServer, dialTLS: the client learns
// whether the server accepted its certificate), and says why it failed.
func handshake(t *testing.T, client, server party) error {
	t.Helper()
	addr := startTLSServer(t, ServerConfig(server.source(t)))
	_, err := dialTLS(addr, ClientConfig(client.source(t), testServerName))
	return err
}

// TestCARotationKeepsEveryHandshake rotates SSM's CA the way the controller
// does (EnsureCA and EnsureLeaf on a fake API server, with a clock), and at
// every step connects every client to every server that can exist at that
// step: pods that still hold the previous files and pods that already have
// the new ones, with leaves of the old and the new CA. All must connect.
// Each step also shows what the wait is for: a pod that has not yet seen
// the new CA cannot verify a leaf it signed, and once the old CA is retired
// its leaves are refused.
//
// Certificates are checked against the wall clock, so the timeline starts
// a few minutes before now; the retirement step, a week later, checks only
// certificates issued before now.
func TestCARotationKeepsEveryHandshake(t *testing.T) {
	t.Parallel()
	ctx := logtesting.TestContextWithLogger(t)
	kube := fake.NewClientset()
	lister := func() corev1listers.SecretLister {
		indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		list, err := kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			if err := indexer.Add(&list.Items[i]); err != nil {
				t.Fatal(err)
			}
		}
		return corev1listers.NewSecretLister(indexer)
	}
	ensureCA := func(now time.Time) *Authority {
		t.Helper()
		auth, err := EnsureCA(ctx, kube, lister(), CANamespace, now)
		if err != nil {
			t.Fatalf("EnsureCA at %v: %v", now, err)
		}
		return auth
	}
	server := LeafSpec{ID: NewID(testTrustDomain, "knative-serving", "ssm-pool"), DNSNames: []string{testServerName}, Server: true}
	client := LeafSpec{ID: NewID(testTrustDomain, "knative-serving", "activator"), Client: true}
	leaf := func(auth *Authority, name string, spec LeafSpec, now time.Time) party {
		t.Helper()
		if _, err := EnsureLeaf(ctx, kube, lister(), auth, "knative-serving", name, spec, now); err != nil {
			t.Fatalf("EnsureLeaf %s: %v", name, err)
		}
		s, err := kube.CoreV1().Secrets("knative-serving").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return party{name: name, certPEM: s.Data[TLSCertKey], keyPEM: s.Data[TLSKeyKey], caPEM: s.Data[CACertKey]}
	}
	signedBy := func(p party, auth *Authority) bool {
		return mustParseCert(t, p.certPEM).CheckSignatureFrom(auth.Signer.Certificate()) == nil
	}
	allConnect := func(step string, clients, servers []party) {
		t.Helper()
		for _, c := range clients {
			for _, s := range servers {
				if err := handshake(t, c, s); err != nil {
					t.Errorf("%s: client %s → server %s: %v", step, c.name, s.name, err)
				}
			}
		}
	}
	refused := func(step string, c, s party) {
		t.Helper()
		if err := handshake(t, c, s); err == nil {
			t.Errorf("%s: client %s → server %s connected, want refused", step, c.name, s.name)
		}
	}

	// Before: one CA, A.
	base := time.Now().Add(-3 * time.Minute).Truncate(time.Second)
	a := ensureCA(base)
	srvA := leaf(a, "srv", server, base)
	cliA := leaf(a, "cli", client, base)
	allConnect("before", []party{cliA}, []party{srvA})

	// An operator asks for a rotation.
	caSecret, err := kube.CoreV1().Secrets(CANamespace).Get(ctx, CASecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caSecret.Annotations = map[string]string{RotateCAAnnotationKey: "2026-12-08"}
	if _, err := kube.CoreV1().Secrets(CANamespace).Update(ctx, caSecret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// Introduce: B is trusted, A still signs. Leaf Secrets get the bundle.
	t1 := base.Add(time.Minute)
	introduced := ensureCA(t1)
	if !introduced.Signer.Certificate().Equal(a.Signer.Certificate()) {
		t.Fatal("introduce: the new CA signs before it is trusted everywhere")
	}
	if got, want := len(certsOf(t, introduced.Trust)), 2; got != want {
		t.Fatalf("introduce: %d CAs in the trust bundle, want %d", got, want)
	}
	if want := t1.Add(TrustPropagation); !introduced.NextStep.Equal(want) {
		t.Errorf("introduce: next step at %v, want %v", introduced.NextStep, want)
	}
	srvA2 := leaf(introduced, "srv", server, t1)
	cliA2 := leaf(introduced, "cli", client, t1)
	if !signedBy(srvA2, a) || !signedBy(cliA2, a) {
		t.Error("introduce: leaves re-issued for the new bundle must still be signed by A")
	}
	allConnect("introduce", []party{cliA, cliA2}, []party{srvA, srvA2})
	if held := ensureCA(t1.Add(TrustPropagation - time.Second)); !held.Signer.Certificate().Equal(a.Signer.Certificate()) {
		t.Error("introduce: B signs before TrustPropagation has passed")
	}

	// Promote: B signs, A is retired but trusted; every leaf is re-issued
	// by B. By now every mount has the bundle of step 1.
	t2 := t1.Add(TrustPropagation)
	promoted := ensureCA(t2)
	if promoted.Signer.Certificate().Equal(a.Signer.Certificate()) {
		t.Fatal("promote: A still signs after TrustPropagation")
	}
	srvB := leaf(promoted, "srv", server, t2)
	cliB := leaf(promoted, "cli", client, t2)
	if !signedBy(srvB, promoted) || !signedBy(cliB, promoted) {
		t.Error("promote: leaves signed by A were not re-issued by B")
	}
	allConnect("promote", []party{cliA2, cliB}, []party{srvA2, srvB})
	// Why B waited: a pod that had never seen B cannot verify its leaves.
	refused("promote (a pod that never saw B)", cliA, srvB)

	// Retire: a week later every leaf A signed has expired; A leaves the
	// bundle, and a leaf of A is refused.
	t3 := t2.Add(DefaultLeafValidity)
	retired := ensureCA(t3)
	if got, want := len(certsOf(t, retired.Trust)), 1; got != want {
		t.Fatalf("retire: %d CAs in the trust bundle, want %d", got, want)
	}
	if !retired.NextStep.IsZero() {
		t.Errorf("retire: next step at %v, want none", retired.NextStep)
	}
	srvB3, cliB3 := srvB.withBundle("srv (bundle without A)", retired.Trust), cliB.withBundle("cli (bundle without A)", retired.Trust)
	allConnect("retire", []party{cliB, cliB3}, []party{srvB, srvB3})
	refused("retire (a leaf of A)", cliA2, srvB3)

	// Nothing more to do until the next request.
	if again := ensureCA(t3.Add(time.Hour)); string(again.Trust) != string(retired.Trust) {
		t.Error("after the rotation: the CA changed again without a request")
	}
}

func certsOf(t *testing.T, bundle []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cert)
	}
}
