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

package xdsprobe

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/networking/pkg/ingress"
	"knative.dev/networking/pkg/status"
	"knative.dev/pkg/kmeta"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/network"
)

// Options configure a Manager. Only Address is required.
type Options struct {
	// Address is istiod's plaintext xDS gRPC address, host:port.
	Address string
	// ClusterID is the CLUSTER_ID of the node; "Kubernetes", istiod's
	// default for its own cluster, when empty.
	ClusterID string
	// ClusterDomain ends the node's DNS domain; the cluster's when empty.
	ClusterDomain string
	// IstioVersion is the proxy version presented; empty means "as new as
	// istiod", which is what a gateway of istiod's own release gets.
	IstioVersion string
	// InitialBackoff and MaxBackoff bound the delay between reconnects;
	// 500ms and 30s when zero.
	InitialBackoff, MaxBackoff time.Duration
}

// maxMessageSize bounds one xDS response. A gateway's RDS grows with the
// routes of every KIngress on it (a few KB each), so the gRPC default of
// 4 MiB is too small for large clusters while memory must stay bounded.
const maxMessageSize = 64 << 20

// Manager is a status.Manager that confirms readiness from the routes istiod
// generates for the gateways. It mirrors knative.dev/networking's
// status.Prober: IsReady answers from what is known now and remembers a
// pending KIngress; readyCallback runs once when it becomes ready (and once
// when its check starts failing, so the error reaches the KIngress status).
type Manager struct {
	opts          Options
	nodeOpts      nodeOptions
	lister        TargetLister
	readyCallback func(*v1alpha1.Ingress)
	logger        *zap.SugaredLogger
	client        discoveryv3.AggregatedDiscoveryServiceClient

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped chan struct{}

	mu       sync.Mutex
	closed   bool
	watchers map[string]*runningWatcher
	states   map[types.NamespacedName]*ingressState
}

var _ status.Manager = (*Manager)(nil)

type runningWatcher struct {
	w      *watcher
	cancel context.CancelFunc
}

// ingressState is what is known about one KIngress at one version.
type ingressState struct {
	ing         *v1alpha1.Ingress
	version     string
	targets     []Target
	fingerprint string
	ready       bool
	// failing: the last check returned an error (istiod unreachable).
	failing bool
}

func (s *ingressState) uses(workload string) bool {
	for _, t := range s.targets {
		if t.Workload.String() == workload {
			return true
		}
	}
	return false
}

// NewManager returns a Manager whose streams live until ctx ends or Close is
// called. No connection is made before the first IsReady.
func NewManager(ctx context.Context, opts Options, lister TargetLister, readyCallback func(*v1alpha1.Ingress)) (*Manager, error) {
	if opts.Address == "" {
		return nil, errors.New("xDS address is empty")
	}
	if opts.ClusterID == "" {
		opts.ClusterID = "Kubernetes"
	}
	if opts.ClusterDomain == "" {
		opts.ClusterDomain = network.GetClusterDomainName()
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff < opts.InitialBackoff {
		opts.MaxBackoff = max(30*time.Second, opts.InitialBackoff)
	}
	conn, err := grpc.NewClient(opts.Address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize)),
		// gRPC's own reconnect backoff (up to 2 minutes) would outlast ours.
		// MinConnectTimeout must be set with it: left zero, a connection
		// attempt gets only the backoff delay to complete its handshake.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: opts.InitialBackoff, Multiplier: 2, MaxDelay: opts.MaxBackoff,
			},
			MinConnectTimeout: 20 * time.Second,
		}))
	if err != nil {
		return nil, fmt.Errorf("xDS address %q: %w", opts.Address, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Manager{
		opts: opts,
		nodeOpts: nodeOptions{
			clusterID: opts.ClusterID, clusterDomain: opts.ClusterDomain, istioVersion: opts.IstioVersion,
		},
		lister:        lister,
		readyCallback: readyCallback,
		logger:        logging.FromContext(ctx).Named("xds-readiness").With(zap.String("address", opts.Address)),
		client:        discoveryv3.NewAggregatedDiscoveryServiceClient(conn),
		ctx:           ctx,
		cancel:        cancel,
		stopped:       make(chan struct{}),
		watchers:      map[string]*runningWatcher{},
		states:        map[types.NamespacedName]*ingressState{},
	}
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		m.wg.Wait()
		_ = conn.Close()
		close(m.stopped)
	}()
	return m, nil
}

// Close stops every stream and waits for them to end.
func (m *Manager) Close() {
	m.cancel()
	<-m.stopped
}

// IsReady implements status.Manager: whether every gateway workload serving
// ing has, from istiod, a route for each of its hosts at ing's current
// version. It returns an error when that cannot be known (istiod
// unreachable, no gateway to check); false without error while waiting.
func (m *Manager) IsReady(ctx context.Context, ing *v1alpha1.Ingress) (bool, error) {
	key := types.NamespacedName{Namespace: ing.Namespace, Name: ing.Name}
	sum, err := ingress.ComputeHash(ing)
	if err != nil {
		return false, fmt.Errorf("hashing KIngress %s: %w", key, err)
	}
	version := hex.EncodeToString(sum[:])
	listed, err := m.lister.ListTargets(ctx, ing)
	if err != nil {
		return false, fmt.Errorf("KIngress %s: listing gateway workloads: %w", key, err)
	}
	targets, err := normalizeTargets(listed)
	if err != nil {
		return false, fmt.Errorf("KIngress %s: %w", key, err)
	}
	fp := fingerprint(targets)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, fmt.Errorf("KIngress %s: the xDS readiness manager for %s is stopped", key, m.opts.Address)
	}
	st := m.states[key]
	if st == nil || st.version != version || st.fingerprint != fp {
		st = &ingressState{ing: ing.DeepCopy(), version: version, targets: targets, fingerprint: fp}
		m.states[key] = st
		for _, t := range targets {
			if err := m.ensureWatcherLocked(t.Workload); err != nil {
				return false, fmt.Errorf("KIngress %s: %w", key, err)
			}
		}
		m.stopUnusedLocked()
	}
	if st.ready {
		return true, nil
	}
	ready, err := m.checkLocked(st)
	st.ready, st.failing = ready, err != nil
	if err != nil {
		return false, fmt.Errorf("KIngress %s: %w", key, err)
	}
	return ready, nil
}

// CancelIngressProbing forgets a deleted KIngress; it takes what an informer's
// delete handler gets, as status.Prober's does.
func (m *Manager) CancelIngressProbing(obj interface{}) {
	acc, err := kmeta.DeletionHandlingAccessor(obj)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, types.NamespacedName{Namespace: acc.GetNamespace(), Name: acc.GetName()})
	m.stopUnusedLocked()
}

// checkLocked says whether st is served; an error when a workload's stream
// has failed and has not synced again. m.mu must be held.
func (m *Manager) checkLocked(st *ingressState) (bool, error) {
	ready := true
	var errs []error
	for _, t := range st.targets {
		rw := m.watchers[t.Workload.String()]
		if rw == nil {
			return false, fmt.Errorf("no xDS stream for gateway workload %s", t.Workload)
		}
		missing, err := rw.w.missing(t.Hosts, st.version)
		switch {
		case errors.Is(err, errNotSynced):
			ready = false
		case err != nil:
			errs = append(errs, err)
		case len(missing) > 0:
			ready = false
			m.logger.Debugw("hosts not yet served at this version", zap.String("workload", t.Workload.String()),
				zap.Strings("hosts", missing), zap.String("version", st.version))
		}
	}
	if len(errs) > 0 {
		return false, errors.Join(errs...)
	}
	return ready, nil
}

// onChange rechecks the pending KIngresses workload serves, and calls
// readyCallback, outside the lock, for those that became ready or started
// failing.
func (m *Manager) onChange(workload string) {
	m.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(m.states))
	for key, st := range m.states {
		if !st.ready && st.uses(workload) {
			keys = append(keys, key)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var notify []*v1alpha1.Ingress
	for _, key := range keys {
		st := m.states[key]
		ready, err := m.checkLocked(st)
		if (ready && !st.ready) || (err != nil && !st.failing) {
			notify = append(notify, st.ing)
		}
		st.ready, st.failing = ready, err != nil
	}
	m.mu.Unlock()
	for _, ing := range notify {
		m.readyCallback(ing)
	}
}

// ensureWatcherLocked starts the stream of workload unless it runs. m.mu
// must be held.
func (m *Manager) ensureWatcherLocked(workload Workload) error {
	key := workload.String()
	if _, ok := m.watchers[key]; ok {
		return nil
	}
	node, err := gatewayNode(workload, m.nodeOpts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(m.ctx)
	w := &watcher{
		workload: workload,
		node:     node,
		address:  m.opts.Address,
		client:   m.client,
		backoff:  backoffRange{initial: m.opts.InitialBackoff, max: m.opts.MaxBackoff},
		logger:   m.logger.With(zap.String("workload", key), zap.String("node", node.GetId())),
		onChange: func() { m.onChange(key) },
	}
	m.watchers[key] = &runningWatcher{w: w, cancel: cancel}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(ctx)
	}()
	return nil
}

// stopUnusedLocked ends the streams no remembered KIngress needs, so memory
// follows the KIngresses that exist. m.mu must be held.
func (m *Manager) stopUnusedLocked() {
	for key, rw := range m.watchers {
		used := false
		for _, st := range m.states {
			if st.uses(key) {
				used = true
				break
			}
		}
		if !used {
			rw.cancel()
			delete(m.watchers, key)
		}
	}
}
