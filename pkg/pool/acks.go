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

package pool

import (
	"fmt"
	"slices"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"go.uber.org/zap"
)

// explicitWildcard is the resource name that subscribes to all resources.
const explicitWildcard = "*"

// typeState is what a proxy holds of one xDS type, as far as its requests
// tell. Guarded by Server.mu.
type typeState struct {
	subscribed bool
	// sentNonce and sentVersion are of the last response sent.
	sentNonce   string
	sentVersion string
	// answeredNonce is the response the proxy last ACKed or NACKed; more
	// requests with that nonce only change the subscription.
	answeredNonce string
	// acked is the version the proxy holds; heldAll (a wildcard
	// subscription) or heldNames say which resources of it.
	acked     string
	heldAll   bool
	heldNames map[string]bool
	// named is set once a request named resources: from then on an empty
	// list subscribes to nothing (xDS "legacy wildcard" rules).
	named bool
	// rejected are the versions the proxy NACKed.
	rejected map[string]bool
}

func (p *proxy) typeState(typeURL string) *typeState {
	ts := p.types[typeURL]
	if ts == nil {
		ts = &typeState{}
		p.types[typeURL] = ts
	}
	return ts
}

// subscription is the set of names a request subscribes to; all is true for
// a wildcard subscription.
func (ts *typeState) subscription(names []string) (all bool, set map[string]bool) {
	if len(names) > 0 {
		ts.named = true
	}
	if (len(names) == 0 && !ts.named) || slices.Contains(names, explicitWildcard) {
		return true, nil
	}
	set = make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return false, set
}

// holds reports whether the proxy holds snap: the right version of every
// type it subscribed to and of every type snap has resources of (Envoy
// subscribes to endpoints and routes only once clusters and listeners name
// them), including each of those resources. The last part matters because
// go-control-plane answers an empty subscription with every resource: a
// proxy can ACK a version whose resources it did not subscribe to and
// dropped, and gets them only with the next response.
func (p *proxy) holds(snap *cachev3.Snapshot) bool {
	if len(p.types) == 0 {
		return false
	}
	for i := range snap.Resources {
		typeURL, err := cachev3.GetResponseTypeURL(types.ResponseType(i))
		if err != nil {
			continue
		}
		r := snap.Resources[i]
		ts := p.types[typeURL]
		if ts == nil || !ts.subscribed {
			if len(r.Items) == 0 {
				continue
			}
			return false
		}
		if ts.acked != r.Version {
			return false
		}
		if ts.heldAll {
			continue
		}
		for name := range r.Items {
			if !ts.heldNames[name] {
				return false
			}
		}
	}
	return true
}

// observeRequestLocked classifies a request as go-control-plane does: one
// whose nonce is not the last one sent is stale and ignored; the first with
// the last nonce ACKs the sent version or, with error_detail, NACKs it.
func (s *Server) observeRequestLocked(p *proxy, req *discovery.DiscoveryRequest) *unhealthyEvent {
	ts := p.typeState(req.GetTypeUrl())
	nonce := req.GetResponseNonce()
	if ts.sentNonce != "" && nonce != ts.sentNonce {
		return nil
	}
	ts.subscribed = true
	all, names := ts.subscription(req.GetResourceNames())
	var event *unhealthyEvent
	switch {
	case ts.sentNonce == "":
		// Nothing sent yet: a reconnecting Envoy may say which version it
		// still holds, and go-control-plane will not resend that version.
		ts.acked, ts.heldAll, ts.heldNames = req.GetVersionInfo(), all, names
	case ts.answeredNonce == nonce:
		// A subscription change: unsubscribed resources are dropped, new
		// ones are held only once a response brings them.
		if !all {
			held := map[string]bool{}
			for n := range names {
				if ts.heldAll || ts.heldNames[n] {
					held[n] = true
				}
			}
			ts.heldAll, ts.heldNames = false, held
		}
	case req.GetErrorDetail() != nil:
		ts.answeredNonce = nonce
		event = s.rejectLocked(p, req.GetTypeUrl(), ts.sentVersion, req.GetErrorDetail().GetMessage())
	default:
		ts.answeredNonce = nonce
		if req.GetVersionInfo() == ts.sentVersion {
			ts.acked, ts.heldAll, ts.heldNames = ts.sentVersion, all, names
		}
	}
	if event == nil {
		// rejectLocked has already set the snapshot and woken the waiters.
		if synced := p.holds(p.want); synced != p.synced {
			p.synced = synced
			p.notifyLocked()
		}
	}
	return event
}

// rejectLocked handles a NACK: the proxy is unhealthy until it reconnects,
// loses its lease (which moves to another proxy) and goes back to its idle
// configuration. It returns the event to report the first time.
func (s *Server) rejectLocked(p *proxy, typeURL, version, detail string) *unhealthyEvent {
	ts := p.typeState(typeURL)
	if ts.rejected == nil {
		ts.rejected = map[string]bool{}
	}
	ts.rejected[version] = true
	s.metrics.nacks.WithLabelValues(typeLabel(typeURL)).Inc()
	reason := fmt.Sprintf("proxy %s rejected %s version %s: %s", p.node, typeLabel(typeURL), version, detail)
	s.log.Warnw("Proxy rejected its configuration", zap.String("proxy", p.node), zap.Stringer("pool", p.pool),
		zap.String("type", typeURL), zap.String("version", version), zap.String("detail", detail))

	s.loseLeaseLocked(p, reason)
	first := !p.unhealthy
	p.unhealthy = true
	p.returnedAt = s.opts.Clock.Now()
	s.setSnapshotLocked(p, s.idleSnapshot(p))
	if !first {
		return nil
	}
	s.metrics.unhealthy.Inc()
	return &unhealthyEvent{proxy: p.node, pool: p.pool, reason: reason}
}
