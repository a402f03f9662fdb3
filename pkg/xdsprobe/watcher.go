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
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
)

// watcher keeps one state-of-the-world ADS stream to istiod as one gateway
// workload: LDS for the listeners, then RDS for the route configurations they
// name. It reconnects with backoff, and starts every session from nothing, so
// what it reports is always what istiod sent on the live stream.
type watcher struct {
	workload Workload
	node     *corev3.Node
	address  string
	client   discoveryv3.AggregatedDiscoveryServiceClient
	backoff  backoffRange
	logger   *zap.SugaredLogger
	// onChange runs, with no lock held, after anything a check reads changed.
	onChange func()

	mu sync.Mutex
	// listenersSeen: this session received LDS.
	listenersSeen bool
	// routeNames are the RouteConfigurations subscribed to, sorted.
	routeNames []string
	// routes holds the index of each subscribed RouteConfiguration received.
	routes map[string]routeIndex
	// lastErr is why the last session ended; kept until a session syncs.
	lastErr error
}

type backoffRange struct{ initial, max time.Duration }

// run keeps a session open until ctx ends.
func (w *watcher) run(ctx context.Context) {
	delay := w.backoff.initial
	for {
		received, err := w.session(ctx)
		if ctx.Err() != nil {
			return
		}
		w.logger.Warnw("xDS stream ended; reconnecting", zap.Error(err), zap.Duration("after", delay))
		w.reset(fmt.Errorf("xDS stream to istiod at %s for gateway workload %s: %w", w.address, w.workload, err))
		if received {
			// The server was healthy: start the backoff over.
			delay = w.backoff.initial
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		delay = min(2*delay, w.backoff.max)
	}
}

// reset forgets the session's state and records why it ended.
func (w *watcher) reset(err error) {
	w.mu.Lock()
	w.listenersSeen = false
	w.routeNames = nil
	w.routes = nil
	w.lastErr = err
	w.mu.Unlock()
	w.onChange()
}

// session runs one ADS stream until it fails, and says whether it received
// anything.
func (w *watcher) session(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := w.client.StreamAggregatedResources(ctx)
	if err != nil {
		return false, fmt.Errorf("opening the stream: %w", err)
	}
	// Wildcard LDS: a gateway asks for all its listeners.
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: w.node, TypeUrl: listenerTypeURL}); err != nil {
		return false, fmt.Errorf("requesting listeners: %w", err)
	}
	received := false
	var routeNames []string
	var routeVersion, routeNonce string
	for {
		resp, err := stream.Recv()
		if err != nil {
			return received, fmt.Errorf("receiving: %w", err)
		}
		received = true
		switch resp.GetTypeUrl() {
		case listenerTypeURL:
			names, err := decodeListeners(resp)
			if err != nil {
				return received, err
			}
			changed := !slices.Equal(names, routeNames)
			routeNames = names
			// Stored before the ACK, as Envoy applies before it ACKs.
			w.setListeners(names)
			if err := stream.Send(ack(w.node, resp, nil)); err != nil {
				return received, fmt.Errorf("acknowledging listeners version %q: %w", resp.GetVersionInfo(), err)
			}
			// An empty name list is never sent: for RDS it would mean
			// "unsubscribe" to some servers and "wildcard" to others.
			if changed && len(names) > 0 {
				req := &discoveryv3.DiscoveryRequest{
					Node: w.node, TypeUrl: routeTypeURL, ResourceNames: names,
					VersionInfo: routeVersion, ResponseNonce: routeNonce,
				}
				if err := stream.Send(req); err != nil {
					return received, fmt.Errorf("requesting routes %v: %w", names, err)
				}
			}
		case routeTypeURL:
			routes, err := decodeRoutes(resp)
			if err != nil {
				return received, err
			}
			routeVersion, routeNonce = resp.GetVersionInfo(), resp.GetNonce()
			w.setRoutes(routes)
			if err := stream.Send(ack(w.node, resp, routeNames)); err != nil {
				return received, fmt.Errorf("acknowledging routes version %q: %w", resp.GetVersionInfo(), err)
			}
		default:
			// Nothing else was asked for; an answer to it is ignored.
			continue
		}
		w.onChange()
	}
}

// ack acknowledges resp: its version and nonce, with the same subscription.
func ack(node *corev3.Node, resp *discoveryv3.DiscoveryResponse, names []string) *discoveryv3.DiscoveryRequest {
	return &discoveryv3.DiscoveryRequest{
		Node:          node,
		TypeUrl:       resp.GetTypeUrl(),
		VersionInfo:   resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(),
		ResourceNames: names,
	}
}

func decodeListeners(resp *discoveryv3.DiscoveryResponse) ([]string, error) {
	listeners := make([]*listenerv3.Listener, 0, len(resp.GetResources()))
	for i, res := range resp.GetResources() {
		l := &listenerv3.Listener{}
		if err := res.UnmarshalTo(l); err != nil {
			return nil, fmt.Errorf("listeners version %q: resource %d: %w", resp.GetVersionInfo(), i, err)
		}
		listeners = append(listeners, l)
	}
	return routeNamesOf(listeners)
}

func decodeRoutes(resp *discoveryv3.DiscoveryResponse) (map[string]routeIndex, error) {
	out := make(map[string]routeIndex, len(resp.GetResources()))
	for i, res := range resp.GetResources() {
		rc := &routev3.RouteConfiguration{}
		if err := res.UnmarshalTo(rc); err != nil {
			return nil, fmt.Errorf("routes version %q: resource %d: %w", resp.GetVersionInfo(), i, err)
		}
		out[rc.GetName()] = indexRoutes(rc)
	}
	return out, nil
}

// setListeners records the route names the listeners need and drops routes
// no longer named.
func (w *watcher) setListeners(names []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.listenersSeen = true
	w.routeNames = names
	for name := range w.routes {
		if !slices.Contains(names, name) {
			delete(w.routes, name)
		}
	}
	w.clearErrorIfSyncedLocked()
}

// setRoutes stores received route configurations that are subscribed to.
// RDS responses may carry a subset: the others keep their last version.
func (w *watcher) setRoutes(routes map[string]routeIndex) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.routes == nil {
		w.routes = make(map[string]routeIndex, len(routes))
	}
	for name, idx := range routes {
		if slices.Contains(w.routeNames, name) {
			w.routes[name] = idx
		}
	}
	w.clearErrorIfSyncedLocked()
}

// syncedLocked says whether this session received the listeners and every
// route configuration they name. w.mu must be held.
func (w *watcher) syncedLocked() bool {
	if !w.listenersSeen {
		return false
	}
	for _, name := range w.routeNames {
		if _, ok := w.routes[name]; !ok {
			return false
		}
	}
	return true
}

// clearErrorIfSyncedLocked forgets the last session's error once a new
// session has a full view. w.mu must be held.
func (w *watcher) clearErrorIfSyncedLocked() {
	if w.syncedLocked() {
		w.lastErr = nil
	}
}

// errNotSynced: the watcher has not yet received everything it subscribed to
// in the current session.
var errNotSynced = errors.New("not synced")

// missing returns the hosts not served at version. Until the current session
// has received the listeners and every route configuration they name, it
// returns the last session's error when there was one (istiod unreachable),
// else errNotSynced: a partial view could call a stale host ready.
func (w *watcher) missing(hosts []string, version string) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.syncedLocked() {
		if w.lastErr != nil {
			return nil, w.lastErr
		}
		return nil, errNotSynced
	}
	return missingHosts(w.routes, hosts, version), nil
}
