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
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"knative.dev/pkg/logging"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// Secret layout, in the key names Knative and cert-manager use.
const (
	// CANamespace holds the CA Secret and nothing else. It is not the
	// system namespace: there, Knative's activator and SSM's webhook may
	// read every Secret (their Roles and informers cannot be narrowed by
	// name), and neither has any business with SSM's CA key.
	CANamespace = "ssm-ca"
	// CASecretName is the CA Secret in CANamespace; of SSM's identities
	// only the controller may read it.
	CASecretName = "ssm-ca"
	// CACertKey holds the PEM certificate of the signing CA in the CA
	// Secret, and the trust bundle (every CA to trust now) in every leaf
	// Secret.
	CACertKey = "ca.crt"
	// CAKeyKey holds the PEM CA private key, in the CA Secret only.
	CAKeyKey = "ca.key"
	// TLSCertKey and TLSKeyKey hold a leaf's certificate and key.
	TLSCertKey = corev1.TLSCertKey
	TLSKeyKey  = corev1.TLSPrivateKeyKey
)

// MakeLeafSecret builds a kubernetes.io/tls Secret holding a leaf issued by
// auth's signer, with auth's trust bundle as ca.crt.
func MakeLeafSecret(namespace, name string, auth *Authority, certPEM, keyPEM []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      name,
			Labels:    map[string]string{ssm.ManagedByLabelKey: ssm.ManagedByLabelValue},
		},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{
			TLSCertKey: slices.Clone(certPEM),
			TLSKeyKey:  slices.Clone(keyPEM),
			CACertKey:  slices.Clone(auth.Trust),
		},
	}
}

// EnsureLeaf makes the leaf Secret namespace/name hold a certificate for spec
// issued by ca that does not need renewal, and says whether it wrote. It
// writes nothing when the Secret is current, and refuses to touch a Secret of
// that name not labelled as managed by SSM.
func EnsureLeaf(ctx context.Context, kube kubernetes.Interface, lister corev1listers.SecretLister, ca *Authority,
	namespace, name string, spec LeafSpec, now time.Time) (changed bool, err error) {
	if err := validateLeafSpec(spec); err != nil {
		return false, fmt.Errorf("leaf Secret %s/%s: %w", namespace, name, err)
	}
	existing, err := lister.Secrets(namespace).Get(name)
	if apierrs.IsNotFound(err) {
		var created bool
		created, err = createLeaf(ctx, kube, ca, namespace, name, spec, now)
		if !apierrs.IsAlreadyExists(err) {
			return created, err
		}
		// Created behind our informer's back; judge what is there now.
		existing, err = kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return false, fmt.Errorf("getting leaf Secret %s/%s: %w", namespace, name, err)
	}
	return updateLeafIfDue(ctx, kube, ca, existing, spec, now)
}

func createLeaf(ctx context.Context, kube kubernetes.Interface, ca *Authority, namespace, name string, spec LeafSpec, now time.Time) (bool, error) {
	certPEM, keyPEM, err := ca.Signer.Issue(now, spec)
	if err != nil {
		return false, fmt.Errorf("issuing leaf for Secret %s/%s: %w", namespace, name, err)
	}
	_, err = kube.CoreV1().Secrets(namespace).Create(ctx, MakeLeafSecret(namespace, name, ca, certPEM, keyPEM), metav1.CreateOptions{})
	if apierrs.IsAlreadyExists(err) {
		return false, err // unwrapped, so EnsureLeaf can recognise it
	}
	if err != nil {
		return false, fmt.Errorf("creating leaf Secret %s/%s: %w", namespace, name, err)
	}
	logging.FromContext(ctx).Infof("Created leaf Secret %s/%s for %s", namespace, name, spec.ID)
	return true, nil
}

func updateLeafIfDue(ctx context.Context, kube kubernetes.Interface, ca *Authority, existing *corev1.Secret, spec LeafSpec, now time.Time) (bool, error) {
	if existing.Labels[ssm.ManagedByLabelKey] != ssm.ManagedByLabelValue {
		return false, fmt.Errorf("leaf Secret %s/%s exists but is not labelled %s=%s; refusing to overwrite it",
			existing.Namespace, existing.Name, ssm.ManagedByLabelKey, ssm.ManagedByLabelValue)
	}
	if existing.Type != corev1.SecretTypeTLS {
		// The type of a Secret is immutable, so an update could not fix it.
		return false, fmt.Errorf("leaf Secret %s/%s has type %q, want %q; delete it to have it re-created",
			existing.Namespace, existing.Name, existing.Type, corev1.SecretTypeTLS)
	}
	reason := leafReissueReason(ca, existing, spec, now)
	if reason == "" {
		return false, nil
	}
	certPEM, keyPEM, err := ca.Signer.Issue(now, spec)
	if err != nil {
		return false, fmt.Errorf("issuing leaf for Secret %s/%s: %w", existing.Namespace, existing.Name, err)
	}
	desired := MakeLeafSecret(existing.Namespace, existing.Name, ca, certPEM, keyPEM)
	updated := existing.DeepCopy()
	updated.Data = maps.Clone(existing.Data)
	if updated.Data == nil {
		updated.Data = map[string][]byte{}
	}
	maps.Copy(updated.Data, desired.Data)
	if _, err := kube.CoreV1().Secrets(existing.Namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return false, fmt.Errorf("renewing leaf Secret %s/%s (%s): %w", existing.Namespace, existing.Name, reason, err)
	}
	logging.FromContext(ctx).Infof("Renewed leaf Secret %s/%s for %s: %s", existing.Namespace, existing.Name, spec.ID, reason)
	return true, nil
}

// leafReissueReason is "" when the Secret holds a current certificate for
// spec, its matching key and ca's trust bundle; otherwise it says
// what is wrong.
func leafReissueReason(ca *Authority, secret *corev1.Secret, spec LeafSpec, now time.Time) string {
	certPEM := secret.Data[TLSCertKey]
	if due, reason := NeedsRenewal(ca.Signer, certPEM, now); due {
		return reason
	}
	if _, err := tls.X509KeyPair(certPEM, secret.Data[TLSKeyKey]); err != nil {
		return "key does not match certificate: " + err.Error()
	}
	if string(secret.Data[CACertKey]) != string(ca.Trust) {
		return CACertKey + " is not the current trust bundle"
	}
	cert, err := parseSingleCertificate(certPEM)
	if err != nil {
		return "certificate is unparseable: " + err.Error()
	}
	return specMismatch(cert, spec)
}

func specMismatch(cert *x509.Certificate, spec LeafSpec) string {
	if len(cert.URIs) != 1 || cert.URIs[0].String() != spec.ID.String() {
		return "certificate identity differs from " + spec.ID.String()
	}
	if !slices.Equal(slices.Sorted(slices.Values(cert.DNSNames)), slices.Sorted(slices.Values(spec.DNSNames))) {
		return fmt.Sprintf("certificate DNS names %v differ from %v", cert.DNSNames, spec.DNSNames)
	}
	if slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) != spec.Server ||
		slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) != spec.Client {
		return "certificate key usages differ from the spec"
	}
	return ""
}

// WorkloadSecretName is the Secret, in a revision's namespace, holding the
// workload certificate of its ServiceAccount that the queue-proxy plugin
// presents on its mTLS port. The controller issues it; the Deployment
// webhook mounts it.
func WorkloadSecretName(serviceAccount string) string {
	return "ssm-workload-" + serviceAccount
}

// WorkloadMountPath is where the queue-proxy plugin reads its certificate
// (tls.crt, tls.key, ca.crt).
const WorkloadMountPath = "/var/run/ssm/identity"
