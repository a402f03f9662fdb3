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

package proxypool

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

// ensurePoolIdentity gives the pool's Envoys what their identity needs: the
// ServiceAccount ssm-proxy in the pool's namespace (the SPIFFE ID ssm-pool
// and revision pods check is derived from it; its token is never mounted),
// and a client certificate for that ID from SSM's CA, renewed before it
// expires. Both are written only when missing or due.
func (r *Reconciler) ensurePoolIdentity(ctx context.Context, pool *v1alpha1.ProxyPool) error {
	if err := r.ensureServiceAccount(ctx, pool.Namespace); err != nil {
		return err
	}
	now := r.now()
	ca, err := identity.LoadCA(r.secretLister, identity.CANamespace, now)
	if err != nil {
		return fmt.Errorf("SSM's CA: %w", err)
	}
	spec := identity.LeafSpec{
		ID:     identity.NewID(r.cfg.TrustDomain, pool.Namespace, ssm.PoolProxyServiceAccount),
		Client: true,
	}
	if _, err := identity.EnsureLeaf(ctx, r.kubeClient, r.secretLister, ca, pool.Namespace, names.IdentitySecret(pool.Name), spec, now); err != nil {
		return fmt.Errorf("certificate of pool %s/%s: %w", pool.Namespace, pool.Name, err)
	}
	return nil
}

// ensureServiceAccount creates ssm-proxy where it is missing. It is shared
// by every pool of the namespace, so no single pool owns it; the one
// config/ ships in the system namespace carries the same labels.
func (r *Reconciler) ensureServiceAccount(ctx context.Context, namespace string) error {
	if _, err := r.serviceAccountLister.ServiceAccounts(namespace).Get(ssm.PoolProxyServiceAccount); err == nil {
		return nil
	} else if !apierrs.IsNotFound(err) {
		return fmt.Errorf("getting ServiceAccount %s/%s: %w", namespace, ssm.PoolProxyServiceAccount, err)
	}
	sa := &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      ssm.PoolProxyServiceAccount,
			Labels: map[string]string{
				ssm.ManagedByLabelKey: ssm.ManagedByLabelValue,
				// Empty: shared by the namespace's pools, and visible to
				// the informer filtered on this key.
				ssm.PoolLabelKey: "",
			},
		},
		AutomountServiceAccountToken: ptr.To(false),
	}
	_, err := r.kubeClient.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrs.IsAlreadyExists(err) {
		return fmt.Errorf("creating ServiceAccount %s/%s: %w", namespace, ssm.PoolProxyServiceAccount, err)
	}
	return nil
}
