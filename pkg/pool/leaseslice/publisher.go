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

package leaseslice

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/util/workqueue"

	"github.com/serverless-mesh/ssm/pkg/leaseroute"
	"github.com/serverless-mesh/ssm/pkg/pool"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// Publisher is a pool.RoutePublisher backed by the API server.
type Publisher struct {
	kube    kubernetes.Interface
	slices  discoverylisters.EndpointSliceLister
	replica string
	log     *zap.SugaredLogger
	queue   workqueue.TypedRateLimitingInterface[revision.Key]

	mu      sync.Mutex
	desired map[revision.Key]leaseroute.LeaseSlice
	// deleted are revisions whose slice this replica deleted: until a write
	// succeeds again, the cache may still show the deleted slice, so the
	// API server is asked instead.
	deleted map[revision.Key]bool
}

var _ pool.RoutePublisher = (*Publisher)(nil)

// Options configure a Publisher.
type Options struct {
	Kube kubernetes.Interface
	// Slices lists the lease Services' slices (at least those labelled
	// app.kubernetes.io/managed-by=ssm).
	Slices discoverylisters.EndpointSliceLister
	// Replica is this ssm-pool replica's pod name.
	Replica string
	Logger  *zap.SugaredLogger
}

// New returns a Publisher; it writes nothing until Run.
func New(o Options) *Publisher {
	return &Publisher{
		kube:    o.Kube,
		slices:  o.Slices,
		replica: o.Replica,
		log:     o.Logger,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[revision.Key](50*time.Millisecond, 10*time.Second),
			workqueue.TypedRateLimitingQueueConfig[revision.Key]{Name: "LeaseSlices"}),
		desired: map[revision.Key]leaseroute.LeaseSlice{},
		deleted: map[revision.Key]bool{},
	}
}

// Publish records the revision's proxies and queues the write.
func (p *Publisher) Publish(cfg revision.Config, proxies []string) {
	p.mu.Lock()
	p.desired[cfg.Key] = leaseroute.LeaseSlice{
		Namespace: cfg.Key.Namespace,
		Revision:  cfg.Key.Name,
		PortName:  cfg.PortName,
		Replica:   p.replica,
		Proxies:   append([]string(nil), proxies...),
	}
	p.mu.Unlock()
	p.queue.Add(cfg.Key)
}

// FallbackReady: no withdrawn proxy is a ready endpoint of the revision's
// lease Service any more in the cache (the withdrawal was written and came
// back through the watch), and another endpoint is ready: the activator, a
// proxy this replica leased since, or another replica's.
func (p *Publisher) FallbackReady(key revision.Key, withdrawn []string) bool {
	list, err := p.slices.EndpointSlices(key.Namespace).List(leaseroute.SliceSelector(key.Name))
	if err != nil {
		return false
	}
	other := false
	for _, s := range list {
		for _, ep := range s.Endpoints {
			if !leaseroute.Ready(ep) || len(ep.Addresses) == 0 {
				continue
			}
			if slices.ContainsFunc(ep.Addresses, func(a string) bool { return slices.Contains(withdrawn, a) }) {
				return false
			}
			other = true
		}
	}
	return other
}

// Run removes what an earlier run of this replica left behind, then writes
// queued slices with workers until ctx ends.
func (p *Publisher) Run(ctx context.Context, workers int) error {
	if err := p.removeStale(ctx); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		p.queue.ShutDown()
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p.processNext(ctx) {
			}
		}()
	}
	wg.Wait()
	return nil
}

// removeStale deletes this replica's slices from before a restart: the
// proxies they name have lost the configuration.
func (p *Publisher) removeStale(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelManagedBy: leaseroute.ManagedByPool,
		leaseroute.ReplicaLabelKey: leaseroute.ReplicaID(p.replica),
	})
	list, err := p.kube.DiscoveryV1().EndpointSlices(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return fmt.Errorf("listing the lease slices of replica %s: %w", p.replica, err)
	}
	for _, s := range list.Items {
		err := p.kube.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrs.IsNotFound(err) {
			return fmt.Errorf("deleting stale lease slice %s/%s: %w", s.Namespace, s.Name, err)
		}
		p.markDeleted(revision.Key{Namespace: s.Namespace, Name: leaseroute.RevisionOf(s.Labels)}, true)
		p.log.Infow("Deleted a lease slice left by an earlier run", "slice", s.Namespace+"/"+s.Name)
	}
	return nil
}

func (p *Publisher) processNext(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	if err := p.sync(ctx, key); err != nil {
		p.log.Warnw("Writing a lease slice; will retry", zap.Stringer("revision", key), zap.Error(err))
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

// sync makes the API server hold the revision's desired slice: none when it
// has no proxy.
func (p *Publisher) sync(ctx context.Context, key revision.Key) error {
	p.mu.Lock()
	want, ok := p.desired[key]
	if ok && len(want.Proxies) == 0 {
		delete(p.desired, key)
	}
	p.mu.Unlock()
	if !ok {
		return nil
	}
	client := p.kube.DiscoveryV1().EndpointSlices(key.Namespace)
	name := leaseroute.LeaseSliceName(key.Name, p.replica)
	if len(want.Proxies) == 0 {
		err := client.Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrs.IsNotFound(err) {
			p.requeueWithdrawal(want)
			return fmt.Errorf("deleting lease slice %s/%s: %w", key.Namespace, name, err)
		}
		p.markDeleted(key, true)
		return nil
	}
	desired := leaseroute.MakeLeaseSlice(want)
	have, err := p.current(ctx, key, name)
	switch {
	case apierrs.IsNotFound(err):
		// AlreadyExists means the cache is behind; the retry sees the object.
		_, err = client.Create(ctx, desired, metav1.CreateOptions{})
	case err != nil:
		return fmt.Errorf("getting lease slice %s/%s: %w", key.Namespace, name, err)
	default:
		updated := leaseroute.SliceUpdate(have, desired)
		if updated == nil {
			return nil
		}
		_, err = client.Update(ctx, updated, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("writing lease slice %s/%s: %w", key.Namespace, name, err)
	}
	p.markDeleted(key, false)
	return nil
}

// current is the revision's slice as the cache has it, or as the API server
// has it while the cache may still show a slice this replica deleted.
func (p *Publisher) current(ctx context.Context, key revision.Key, name string) (*discoveryv1.EndpointSlice, error) {
	cached, err := p.slices.EndpointSlices(key.Namespace).Get(name)
	p.mu.Lock()
	deleted := p.deleted[key]
	if deleted && apierrs.IsNotFound(err) {
		// The cache has caught up with the deletion.
		delete(p.deleted, key)
		deleted = false
	}
	p.mu.Unlock()
	if deleted {
		return p.kube.DiscoveryV1().EndpointSlices(key.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	return cached, err
}

func (p *Publisher) markDeleted(key revision.Key, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if deleted {
		p.deleted[key] = true
	} else {
		delete(p.deleted, key)
	}
}

// requeueWithdrawal puts a failed withdrawal back unless a newer Publish
// replaced it meanwhile.
func (p *Publisher) requeueWithdrawal(want leaseroute.LeaseSlice) {
	key := revision.Key{Namespace: want.Namespace, Name: want.Revision}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, newer := p.desired[key]; !newer {
		p.desired[key] = want
	}
}
