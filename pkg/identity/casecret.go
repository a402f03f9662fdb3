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
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"knative.dev/pkg/logging"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// The CA Secret: what it holds, how it is created, read and moved through a
// rotation (rotation.go decides the steps).

// IsCASecret says whether obj is SSM's CA Secret. Issuers other than the
// CA's owner watch it so that a rotation's new trust bundle reaches every
// leaf they keep.
func IsCASecret(obj any) bool {
	s, ok := obj.(*corev1.Secret)
	return ok && s.Namespace == CANamespace && s.Name == CASecretName
}

// CASecretError says which key of the CA Secret is unusable. SSM never
// replaces a bad CA Secret by itself: every leaf is signed by that CA, and a
// new one would break them all at once while mounted Secrets catch up.
type CASecretError struct {
	Namespace string
	Name      string
	// Key is the Secret key at fault, or "" when the Secret as a whole is.
	Key string
	Err error
}

func (e *CASecretError) Error() string {
	where := "CA Secret " + e.Namespace + "/" + e.Name
	if e.Key != "" {
		where += " key " + e.Key
	}
	return where + ": " + e.Err.Error() + "; SSM does not replace a CA Secret because every leaf certificate is " +
		"signed by it: delete the Secret to have a new CA created and every leaf Secret re-issued"
}

func (e *CASecretError) Unwrap() error { return e.Err }

// MakeCASecret builds the CA Secret holding ca as the signing CA.
func MakeCASecret(namespace string, ca *CA) *corev1.Secret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      CASecretName,
			Labels:    map[string]string{ssm.ManagedByLabelKey: ssm.ManagedByLabelValue},
		},
		Type: corev1.SecretTypeOpaque,
	}
	writeCAState(secret, caState{signer: ca})
	return secret
}

// writeCAState puts s into secret, keeping its other keys and annotations.
func writeCAState(secret *corev1.Secret, s caState) {
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	secret.Data[CACertKey], secret.Data[CAKeyKey] = s.signer.PEM()
	delete(secret.Data, NextCertKey)
	delete(secret.Data, NextKeyKey)
	if s.next != nil {
		secret.Data[NextCertKey], secret.Data[NextKeyKey] = s.next.PEM()
	}
	delete(secret.Data, RetiredCertKey)
	if len(s.retired) > 0 {
		secret.Data[RetiredCertKey] = formatRetired(s.retired)
	}
	annotations := maps.Clone(secret.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, NextTrustedAtAnnotationKey)
	if s.next != nil {
		annotations[NextTrustedAtAnnotationKey] = s.nextTrustedAt.UTC().Format(time.RFC3339)
	}
	if s.rotatedFor != "" {
		annotations[RotatedForAnnotationKey] = s.rotatedFor
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	secret.Annotations = annotations
}

// EnsureCA returns SSM's CA from the CA Secret in namespace, creating the
// Secret with a new CA (valid DefaultCAValidity from now) if it is missing,
// and moving a rotation on (see rotation.go). Only the CA's owner, the
// leader of the certificates reconciler, calls it; other issuers LoadCA. A
// Secret that exists but does not hold a usable CA is a *CASecretError.
// An operator may provision the Secret with their own CA beforehand; it is
// used as is, and must carry SSM's managed-by label like every SSM Secret:
// the controller's informers see only labelled Secrets (LoadCA would not
// find it), and its admission policy lets it rotate only those.
func EnsureCA(ctx context.Context, kube kubernetes.Interface, lister corev1listers.SecretLister, namespace string, now time.Time) (*Authority, error) {
	secret, err := lister.Secrets(namespace).Get(CASecretName)
	if apierrs.IsNotFound(err) {
		return createCA(ctx, kube, namespace, now)
	}
	if err != nil {
		return nil, fmt.Errorf("getting CA Secret %s/%s: %w", namespace, CASecretName, err)
	}
	state, err := caStateFromSecret(secret, now)
	if err != nil {
		return nil, err
	}
	stepped, did, err := state.step(now, secret.Annotations[RotateCAAnnotationKey])
	if err != nil {
		return nil, fmt.Errorf("CA Secret %s/%s: %w", namespace, CASecretName, err)
	}
	if did == "" {
		return state.authority(), nil
	}
	updated := secret.DeepCopy()
	writeCAState(updated, stepped)
	if _, err := kube.CoreV1().Secrets(namespace).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("CA Secret %s/%s: %s: %w", namespace, CASecretName, did, err)
	}
	logging.FromContext(ctx).Infof("CA Secret %s/%s: %s", namespace, CASecretName, did)
	return stepped.authority(), nil
}

// LoadCA returns SSM's CA from the CA Secret in namespace as it is, for
// issuers other than its owner: it never creates or rotates it.
func LoadCA(lister corev1listers.SecretLister, namespace string, now time.Time) (*Authority, error) {
	secret, err := lister.Secrets(namespace).Get(CASecretName)
	if err != nil {
		return nil, fmt.Errorf("getting CA Secret %s/%s (the controller's certificates reconciler creates it): %w",
			namespace, CASecretName, err)
	}
	state, err := caStateFromSecret(secret, now)
	if err != nil {
		return nil, err
	}
	return state.authority(), nil
}

func createCA(ctx context.Context, kube kubernetes.Interface, namespace string, now time.Time) (*Authority, error) {
	ca, err := NewCA(now, DefaultCAValidity)
	if err != nil {
		return nil, fmt.Errorf("creating CA for Secret %s/%s: %w", namespace, CASecretName, err)
	}
	secrets := kube.CoreV1().Secrets(namespace)
	_, err = secrets.Create(ctx, MakeCASecret(namespace, ca), metav1.CreateOptions{})
	if apierrs.IsAlreadyExists(err) {
		// Our informer had not seen it yet (another replica or our previous
		// incarnation created it). Leaves may already be signed by that CA, so
		// adopt it rather than the one just generated.
		secret, getErr := secrets.Get(ctx, CASecretName, metav1.GetOptions{})
		if getErr != nil {
			return nil, fmt.Errorf("re-reading CA Secret %s/%s after a create race: %w", namespace, CASecretName, getErr)
		}
		state, err := caStateFromSecret(secret, now)
		if err != nil {
			return nil, err
		}
		return state.authority(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating CA Secret %s/%s: %w", namespace, CASecretName, err)
	}
	logging.FromContext(ctx).Infof("Created CA Secret %s/%s, valid until %s",
		namespace, CASecretName, ca.Certificate().NotAfter.UTC().Format(time.RFC3339))
	return caState{signer: ca}.authority(), nil
}

func caStateFromSecret(secret *corev1.Secret, now time.Time) (caState, error) {
	fail := func(key string, err error) error {
		return &CASecretError{Namespace: secret.Namespace, Name: secret.Name, Key: key, Err: err}
	}
	signer, err := caFromKeys(secret, CACertKey, CAKeyKey, fail)
	if err != nil {
		return caState{}, err
	}
	if !now.Before(signer.cert.NotAfter) {
		return caState{}, fail(CACertKey, fmt.Errorf("CA expired at %s", signer.cert.NotAfter.UTC().Format(time.RFC3339)))
	}
	state := caState{signer: signer, rotatedFor: secret.Annotations[RotatedForAnnotationKey]}
	_, hasNextCert := secret.Data[NextCertKey]
	_, hasNextKey := secret.Data[NextKeyKey]
	if hasNextCert || hasNextKey {
		if state.next, err = caFromKeys(secret, NextCertKey, NextKeyKey, fail); err != nil {
			return caState{}, err
		}
		at, err := time.Parse(time.RFC3339, secret.Annotations[NextTrustedAtAnnotationKey])
		if err != nil {
			return caState{}, fail("", fmt.Errorf("annotation %s: %w", NextTrustedAtAnnotationKey, err))
		}
		state.nextTrustedAt = at
	}
	if data, ok := secret.Data[RetiredCertKey]; ok {
		if state.retired, err = parseRetired(data); err != nil {
			return caState{}, fail(RetiredCertKey, err)
		}
	}
	return state, nil
}

// caFromKeys parses the CA held in certKey and keyKey of secret.
func caFromKeys(secret *corev1.Secret, certKey, keyKey string, fail func(string, error) error) (*CA, error) {
	certPEM, keyPEM := secret.Data[certKey], secret.Data[keyKey]
	if len(certPEM) == 0 {
		return nil, fail(certKey, fmt.Errorf("missing or empty"))
	}
	if len(keyPEM) == 0 {
		return nil, fail(keyKey, fmt.Errorf("missing or empty"))
	}
	if _, err := parseSingleCertificate(certPEM); err != nil {
		return nil, fail(certKey, err)
	}
	if _, err := parsePrivateKey(keyPEM); err != nil {
		return nil, fail(keyKey, err)
	}
	ca, err := ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, fail("", err)
	}
	return ca, nil
}
