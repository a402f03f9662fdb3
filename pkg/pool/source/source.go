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

package source

import (
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/serving/pkg/apis/serving"
	autoscalinglisters "knative.dev/serving/pkg/client/listers/autoscaling/v1alpha1"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
	knnetworking "knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	ssmv1alpha1 "github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	ssmlisters "github.com/serverless-mesh/ssm/pkg/client/listers/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// Listers are the informer caches the source reads.
type Listers struct {
	Revisions      servinglisters.RevisionLister
	Services       servinglisters.ServiceLister
	Policies       ssmlisters.ServerlessPolicyLister
	Pools          ssmlisters.ProxyPoolLister
	EndpointSlices discoverylisters.EndpointSliceLister
	// PodAutoscalers tell when Knative takes a revision to zero; nil reads
	// every revision as not.
	PodAutoscalers autoscalinglisters.PodAutoscalerLister
	// DestinationRules hold the metadata of SSM's DestinationRules, indexed
	// by DestinationRuleIndexers: the class the controller last applied to
	// each revision, which ssm-pool resolves with as the previous class.
	// nil reads none.
	DestinationRules cache.Indexer
}

// Source implements revision.Source over informer caches.
type Source struct {
	listers Listers
	// systemNamespace holds the shared pools: a pool name that names no
	// ProxyPool in the revision's own namespace refers to the one here.
	systemNamespace string
	config          atomic.Pointer[leaseConfig]
}

// leaseConfig is what the source reads from config-ssm.
type leaseConfig struct {
	defaults policy.Defaults
	// sidecarlessRevisions is config-ssm's switch: while it is off every
	// revision is born with its sidecar (resolver.NewPods).
	sidecarlessRevisions bool
}

var _ revision.Source = (*Source)(nil)

// New returns a Source with config-ssm's built-in defaults (sidecar-less
// revisions off, so nothing leases) until SetConfig is called with the
// parsed ConfigMap.
func New(l Listers, systemNamespace string) *Source {
	s := &Source{listers: l, systemNamespace: systemNamespace}
	s.config.Store(&leaseConfig{defaults: policy.NewDefaults()})
	return s
}

// SetConfig replaces config-ssm's policy defaults and sidecarless-revisions
// switch. The caller only passes a ConfigMap that parsed: a rejected
// config-ssm keeps the last good one, as in the controller.
func (s *Source) SetConfig(d policy.Defaults, sidecarlessRevisions bool) {
	s.config.Store(&leaseConfig{defaults: d, sidecarlessRevisions: sidecarlessRevisions})
}

// Get resolves the revision with pkg/resolver. ssm-pool sees every input
// but observations; it resolves with the class the controller's routes
// carry as the previous class (appliedClass), which gives the controller's
// answer on every field but the derived timeout, and that timeout is never
// tighter than the controller's (resolver's TestPodSideTimeoutNeverTighter).
// Whether and from which pool it may be leased is the decision stamped on
// the Revision when it was admitted, which is what its pods were born with.
func (s *Source) Get(key revision.Key) (revision.Config, error) {
	rev, err := s.listers.Revisions.Revisions(key.Namespace).Get(key.Name)
	if apierrs.IsNotFound(err) {
		return revision.Config{}, fmt.Errorf("revision %s: %w", key, revision.ErrNotFound)
	} else if err != nil {
		return revision.Config{}, fmt.Errorf("getting revision %s: %w", key, err)
	}
	cfg := s.config.Load()
	selected, err := resolver.Lookup{Services: s.listers.Services, Policies: s.listers.Policies}.PolicyFor(rev.Namespace, rev.Labels)
	if err != nil {
		return revision.Config{}, fmt.Errorf("resolving the policy of revision %s: %w", key, err)
	}
	res, err := resolver.Resolve(resolver.Inputs{
		Annotations:          rev.Annotations,
		Policy:               selected,
		Defaults:             cfg.defaults,
		SidecarlessRevisions: cfg.sidecarlessRevisions,
		RevisionTimeout:      resolver.RevisionTimeout(rev),
		Previous:             s.appliedClass(key),
	})
	if err != nil {
		return revision.Config{}, fmt.Errorf("resolving the policy of revision %s: %w", key, err)
	}
	p := res.Policy
	if !res.Governed {
		p = policy.Policy{ProxyPool: policy.NoProxyPool}
	}
	pods := resolver.StampedPods(rev.Annotations)
	if pods.ProxyPool != "" {
		// The pool its pods were born for, which the autoscaler hook counted
		// its cold starts against, even if the policy has moved on since.
		p.ProxyPool = pods.ProxyPool
	}
	eps, err := s.endpoints(key)
	if err != nil {
		return revision.Config{}, err
	}
	return revision.Config{
		Key:            key,
		Pool:           s.poolKey(key.Namespace, p.ProxyPool),
		Policy:         p,
		ServiceAccount: identity.ServiceAccountName(rev.Spec.ServiceAccountName),
		Endpoints:      eps,
		PortName:       networking.ServicePortName(rev.GetProtocol()),
		ScaledToZero:   s.scaledToZero(key),
		Unleasable:     pods.Unleasable,
	}, nil
}

// appliedClass is the lifecycle class the controller's routes carry for
// the revision (its DestinationRules' ssm.dev/lifecycle-class), "" when it
// has none or they disagree. Resolved as the previous class without an
// observation, it gives "auto" revisions the class the controller derived
// from observations, so a leased proxy's retries and connection limits are
// the gateway's (TestGetResolvesWithTheAppliedClass).
func (s *Source) appliedClass(key revision.Key) policy.Lifecycle {
	if s.listers.DestinationRules == nil {
		return ""
	}
	// By index: Get runs under ssm-pool's lease lock, and a namespace may
	// hold a DestinationRule for every revision of every KIngress.
	objs, err := s.listers.DestinationRules.ByIndex(revisionIndex, key.String())
	if err != nil {
		return ""
	}
	var class policy.Lifecycle
	for _, obj := range objs {
		m, err := meta.Accessor(obj)
		if err != nil {
			continue
		}
		c := policy.Lifecycle(m.GetAnnotations()[ssm.RouteLifecycleClassAnnotationKey])
		if class != "" && c != class {
			return ""
		}
		class = c
	}
	return class
}

// revisionIndex indexes DestinationRules by the revision they are for.
const revisionIndex = "revision"

// DestinationRuleIndexers are the indexers appliedClass reads the
// DestinationRule metadata by: namespace/revision, from the rule's
// ssm.dev/revision annotation.
func DestinationRuleIndexers() cache.Indexers {
	return cache.Indexers{revisionIndex: func(obj any) ([]string, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil
		}
		name := m.GetAnnotations()[ssm.RouteRevisionAnnotationKey]
		if name == "" {
			return nil, nil
		}
		return []string{revision.Key{Namespace: m.GetNamespace(), Name: name}.String()}, nil
	}}
}

// scaledToZero: the revision's PodAutoscaler (named after it) wants no pod.
func (s *Source) scaledToZero(key revision.Key) bool {
	if s.listers.PodAutoscalers == nil {
		return false
	}
	pa, err := s.listers.PodAutoscalers.PodAutoscalers(key.Namespace).Get(key.Name)
	if err != nil {
		return false
	}
	return pa.Status.DesiredScale != nil && *pa.Status.DesiredScale == 0
}

// poolKey finds the ProxyPool a pool name refers to: the revision's own
// namespace first, then the system namespace's shared pools.
func (s *Source) poolKey(namespace, name string) revision.PoolKey {
	if name == "" || name == policy.NoProxyPool {
		return revision.PoolKey{}
	}
	if _, err := s.listers.Pools.ProxyPools(namespace).Get(name); err == nil {
		return revision.PoolKey{Namespace: namespace, Name: name}
	}
	return revision.PoolKey{Namespace: s.systemNamespace, Name: name}
}

// endpoints are the ready addresses of the revision's private Service, at
// the queue-proxy plugin's mTLS port, sorted and without duplicates.
func (s *Source) endpoints(key revision.Key) ([]revision.Endpoint, error) {
	sel := labels.SelectorFromSet(labels.Set{
		serving.RevisionLabelKey:    key.Name,
		knnetworking.ServiceTypeKey: string(knnetworking.ServiceTypePrivate),
	})
	slices, err := s.listers.EndpointSlices.EndpointSlices(key.Namespace).List(sel)
	if err != nil {
		return nil, fmt.Errorf("listing the EndpointSlices of revision %s: %w", key, err)
	}
	seen := make(map[string]bool)
	var out []revision.Endpoint
	for _, slice := range slices {
		for _, ep := range slice.Endpoints {
			if !ready(ep) {
				continue
			}
			for _, ip := range ep.Addresses {
				if !seen[ip] {
					seen[ip] = true
					out = append(out, revision.Endpoint{IP: ip, Port: ssm.QueueProxyMTLSPort})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP < out[j].IP })
	return out, nil
}

// ready follows the EndpointSlice API: a nil Ready condition means ready.
func ready(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}

// IdleTimeout is the pool's spec.idleTimeout, or the default when the pool
// is unknown or leaves it unset.
func (s *Source) IdleTimeout(pool revision.PoolKey) time.Duration {
	p, err := s.listers.Pools.ProxyPools(pool.Namespace).Get(pool.Name)
	if err != nil || p.Spec.IdleTimeout == nil || p.Spec.IdleTimeout.Duration <= 0 {
		return ssmv1alpha1.DefaultProxyPoolIdleTimeout
	}
	return p.Spec.IdleTimeout.Duration
}

// RevisionOfSlice names the revision an EndpointSlice belongs to, if it is
// a revision's private one.
func RevisionOfSlice(slice *discoveryv1.EndpointSlice) (revision.Key, bool) {
	name := slice.Labels[serving.RevisionLabelKey]
	if name == "" || slice.Labels[knnetworking.ServiceTypeKey] != string(knnetworking.ServiceTypePrivate) {
		return revision.Key{}, false
	}
	return revision.Key{Namespace: slice.Namespace, Name: name}, true
}
