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

package certificates

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

// Names of the Secrets this reconciler keeps, in the system namespace.
const (
	PoolServerSecret = "ssm-pool-tls"
	ControllerSecret = "ssm-controller-tls"
	ActivatorSecret  = "ssm-activator-tls"
)

// Service accounts whose identities the fixed certificates carry.
const (
	controllerServiceAccount = "ssm-controller"
	// Knative's activator runs as "activator"; it is the one lease client.
	activatorServiceAccount = "activator"
)

// RecheckPeriod is how often certificates are checked for renewal when
// nothing else happens. Leaves are renewed at 2/3 of their lifetime (days),
// so an hourly look is far more than enough, and cheap: no write unless due.
const RecheckPeriod = time.Hour

// Reconciler ensures the CA and the fixed leaf Secrets. Only the leader of
// the CA key's bucket writes them, so that replicas do not issue and renew
// the same certificates over each other.
type Reconciler struct {
	pkgreconciler.LeaderAwareFuncs

	kube        kubernetes.Interface
	secrets     corev1listers.SecretLister
	namespace   string
	trustDomain string
	clock       clock.PassiveClock
}

var _ pkgreconciler.LeaderAware = (*Reconciler)(nil)

// caKey is the one key of the work queue: every Secret is looked at under it.
func (r *Reconciler) caKey() types.NamespacedName {
	return types.NamespacedName{Namespace: identity.CANamespace, Name: identity.CASecretName}
}

// Leaf is one fixed certificate and the Secret that holds it.
type Leaf struct {
	Secret string
	Spec   identity.LeafSpec
}

// Leaves are the fixed certificates.
func (r *Reconciler) Leaves() []Leaf {
	id := func(sa string) identity.ID { return identity.NewID(r.trustDomain, r.namespace, sa) }
	svc := ssm.PoolServerName + "." + r.namespace
	return []Leaf{{
		Secret: PoolServerSecret,
		Spec: identity.LeafSpec{
			ID:       id(ssm.PoolServerName),
			DNSNames: []string{ssm.PoolServerName, svc, svc + ".svc", svc + ".svc.cluster.local"},
			Server:   true,
		},
	}, {
		Secret: ControllerSecret,
		Spec:   identity.LeafSpec{ID: id(controllerServiceAccount), Client: true},
	}, {
		Secret: ActivatorSecret,
		Spec:   identity.LeafSpec{ID: id(activatorServiceAccount), Client: true},
	}}
}

// Reconcile ensures everything, whatever the key: one CA serves them all,
// and each step writes only when something is missing or due for renewal.
// A replica that does not lead the CA key writes nothing; it is handed the
// key again when it is promoted.
func (r *Reconciler) Reconcile(ctx context.Context, key string) error {
	if !r.IsLeaderFor(r.caKey()) {
		return controller.NewSkipKey(key)
	}
	logger := logging.FromContext(ctx)
	now := r.clock.Now()
	ca, err := identity.EnsureCA(ctx, r.kube, r.secrets, identity.CANamespace, now)
	if err != nil {
		return fmt.Errorf("SSM's CA: %w", err)
	}
	for _, leaf := range r.Leaves() {
		changed, err := identity.EnsureLeaf(ctx, r.kube, r.secrets, ca, r.namespace, leaf.Secret, leaf.Spec, now)
		if err != nil {
			return fmt.Errorf("certificate %s/%s: %w", r.namespace, leaf.Secret, err)
		}
		if changed {
			logger.Infow("issued certificate", "secret", r.namespace+"/"+leaf.Secret, "identity", leaf.Spec.ID.String())
		}
	}
	recheck := RecheckPeriod
	if !ca.NextStep.IsZero() && ca.NextStep.Sub(now) < recheck {
		// A rotation is under way: look again when it moves on.
		recheck = max(ca.NextStep.Sub(now), time.Second)
	}
	return controller.NewRequeueAfter(recheck)
}
