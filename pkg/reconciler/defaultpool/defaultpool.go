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

package defaultpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"

	ssmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
)

// Reconciler creates the missing pools config-ssm names. It has one key,
// config-ssm's own: every pool is decided from that one ConfigMap.
type Reconciler struct {
	pkgreconciler.LeaderAwareFuncs

	key        types.NamespacedName
	namespace  string
	client     ssmclientset.Interface
	poolLister ssmlisters.ProxyPoolLister

	mu sync.Mutex
	// defaults are config-ssm's policy defaults, the built-in ones until
	// config-ssm has been read; invalid is why the current config-ssm was
	// refused, nil when it was accepted.
	defaults policy.Defaults
	invalid  error
}

var (
	_ controller.Reconciler     = (*Reconciler)(nil)
	_ pkgreconciler.LeaderAware = (*Reconciler)(nil)
)

// newReconciler returns a Reconciler for the pools of namespace, on the
// built-in policy defaults until setConfig is called.
func newReconciler(namespace string, client ssmclientset.Interface, poolLister ssmlisters.ProxyPoolLister) *Reconciler {
	key := types.NamespacedName{Namespace: namespace, Name: config.SSMConfigName}
	return &Reconciler{
		LeaderAwareFuncs: pkgreconciler.LeaderAwareFuncs{
			// The key is a singleton: whoever leads its bucket reconciles it.
			PromoteFunc: func(bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
				enq(bkt, key)
				return nil
			},
		},
		key:        key,
		namespace:  namespace,
		client:     client,
		poolLister: poolLister,
		defaults:   policy.NewDefaults(),
	}
}

// setConfig takes a new config-ssm with the parser every other SSM
// component uses. A ConfigMap it refuses stops pool creation until a good
// one arrives, rather than falling back to an older version: the pool names
// come from this very ConfigMap, and a pool created from a superseded name
// would outlive the mistake, since nothing here deletes pools.
func (r *Reconciler) setConfig(cm *corev1.ConfigMap) {
	cfg, err := config.NewSSMFromConfigMap(cm)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.invalid = err
		return
	}
	r.defaults, r.invalid = cfg.Policy, nil
}

func (r *Reconciler) config() (policy.Defaults, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.defaults, r.invalid
}

// Reconcile implements controller.Reconciler: it creates each pool
// config-ssm names that does not exist in the system namespace.
func (r *Reconciler) Reconcile(ctx context.Context, key string) error {
	if !r.IsLeaderFor(r.key) {
		return controller.NewSkipKey(key)
	}
	logger := logging.FromContext(ctx)
	defaults, invalid := r.config()
	if invalid != nil {
		// Not an error to retry: only a new config-ssm can change the outcome,
		// and its change enqueues this key again.
		logger.Errorw("Creating no ProxyPool until "+config.SSMConfigName+" is valid", zap.Error(invalid))
		return nil
	}
	var errs []error
	for _, want := range namedPools(defaults) {
		created, err := r.ensurePool(ctx, want.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !created {
			continue
		}
		verb := "names"
		if len(want.keys) > 1 {
			verb = "name"
		}
		logger.Infof("created ProxyPool %s/%s because %s's %s %s it",
			r.namespace, want.name, config.SSMConfigName, strings.Join(want.keys, " and "), verb)
	}
	return errors.Join(errs...)
}

// ensurePool creates the pool name with Spec unless a pool of that name
// exists; it never changes an existing one, whatever its spec.
func (r *Reconciler) ensurePool(ctx context.Context, name string) (bool, error) {
	_, err := r.poolLister.ProxyPools(r.namespace).Get(name)
	if err == nil {
		return false, nil
	}
	if !apierrs.IsNotFound(err) {
		return false, fmt.Errorf("reading ProxyPool %s/%s: %w", r.namespace, name, err)
	}
	_, err = r.client.SsmV1alpha1().ProxyPools(r.namespace).Create(ctx, makePool(r.namespace, name), metav1.CreateOptions{})
	if apierrs.IsAlreadyExists(err) {
		// The informer had not seen a pool someone just created: theirs stands.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating ProxyPool %s/%s: %w", r.namespace, name, err)
	}
	return true, nil
}

// namedPool is a pool name and the config-ssm keys that name it.
type namedPool struct {
	name string
	keys []string
}

// namedPools lists the pools defaults name, short-lived first, each name
// once; "" and policy.NoProxyPool name no pool.
func namedPools(defaults policy.Defaults) []namedPool {
	classes := []struct {
		key  string
		pool string
	}{
		{config.ShortLivedKeyPrefix + "proxy-pool", defaults.ShortLived.ProxyPool},
		{config.LongLivedKeyPrefix + "proxy-pool", defaults.LongLived.ProxyPool},
	}
	var pools []namedPool
	for _, class := range classes {
		if class.pool == "" || class.pool == policy.NoProxyPool {
			continue
		}
		if i := slices.IndexFunc(pools, func(p namedPool) bool { return p.name == class.pool }); i >= 0 {
			pools[i].keys = append(pools[i].keys, class.key)
			continue
		}
		pools = append(pools, namedPool{name: class.pool, keys: []string{class.key}})
	}
	return pools
}
