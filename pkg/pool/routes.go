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
	"net"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

const (
	// DefaultDrainPeriod is how long a proxy keeps a revision's
	// configuration after the revision's traffic has been given somewhere
	// else to go: istiod's push debounce plus the gateways' update.
	DefaultDrainPeriod = 5 * time.Second
	// DefaultMaxFallbackWait bounds the wait for that somewhere else (SSM's
	// controller publishing the activator); a controller that is down must
	// not pin a proxy for ever.
	// Together with DefaultDrainPeriod it stays under Kubernetes' default
	// termination grace period of 30 s, which a stopping replica waits for.
	DefaultMaxFallbackWait = 20 * time.Second

	fallbackPoll = 100 * time.Millisecond
)

// RoutePublisher makes the proxies that can serve a revision the endpoints
// of its lease Service (see pkg/leaseroute), so that the gateway sends the
// revision's traffic to them instead of the activator.
type RoutePublisher interface {
	// Publish replaces this replica's proxies for the revision; an empty
	// list withdraws them. It is called with the server's lock held and
	// must not block.
	Publish(cfg revision.Config, proxies []string)
	// FallbackReady reports whether the revision's traffic has somewhere
	// other than the withdrawn proxies to go: none of them is published any
	// more, and some other endpoint (the activator, another proxy) is.
	FallbackReady(key revision.Key, withdrawn []string) bool
}

// routable are the addresses of the proxies that can serve l's revision now:
// its proxy once it holds the configuration, while the revision has a ready
// pod and Knative is not taking it to zero. While it is, Knative sends its
// traffic through the activator for a grace period before the pods go; the
// lease Service does the same, so no request meets a proxy with no pod.
func routable(l *lease) []string {
	if !l.granted || l.ended || l.proxy == nil || len(l.cfg.Endpoints) == 0 || l.cfg.ScaledToZero {
		return nil
	}
	host, _, err := net.SplitHostPort(l.proxy.address)
	if err != nil || net.ParseIP(host).To4() == nil {
		return nil
	}
	return []string{host}
}

// publishLocked tells the publisher when l's routable proxies changed.
func (s *Server) publishLocked(l *lease) {
	if s.opts.Routes == nil {
		return
	}
	proxies := routable(l)
	if slices.Equal(proxies, l.published) {
		return
	}
	l.published = proxies
	s.opts.Routes.Publish(l.cfg, proxies)
}

// withdrawal is a revision's proxies that were just withdrawn.
type withdrawal struct {
	key     revision.Key
	proxies []string
}

// withdrawLocked withdraws l's published proxies, if any, and says which.
func (s *Server) withdrawLocked(l *lease) withdrawal {
	w := withdrawal{key: l.key, proxies: l.published}
	if s.opts.Routes == nil || len(l.published) == 0 {
		return w
	}
	l.published = nil
	s.opts.Routes.Publish(l.cfg, nil)
	return w
}

// drainLocked ends the lease of a proxy that was published: the proxy is
// withdrawn first and keeps the revision's configuration until the
// revision's traffic goes elsewhere, so a request the gateway sends it
// meanwhile is still served. It is given back afterwards.
func (s *Server) drainLocked(l *lease, p *proxy) {
	w := s.withdrawLocked(l)
	s.metrics.drains.Inc()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.awaitFallback(w)
		s.mu.Lock()
		defer s.mu.Unlock()
		if p.lease == l {
			s.returnLocked(p)
		}
	}()
}

// awaitFallback waits until the publisher sees a fallback for every one of
// the revisions, at most MaxFallbackWait, then for the drain period. A
// background drain returns early when the server stops; the stop itself
// waits (its context is not yet cancelled then).
func (s *Server) awaitFallback(ws ...withdrawal) {
	if len(ws) == 0 {
		return
	}
	deadline := time.NewTimer(s.opts.MaxFallbackWait)
	defer deadline.Stop()
	poll := time.NewTicker(fallbackPoll)
	defer poll.Stop()
	for pending := ws; ; {
		pending = slices.DeleteFunc(pending, func(w withdrawal) bool { return s.opts.Routes.FallbackReady(w.key, w.proxies) })
		if len(pending) == 0 {
			break
		}
		select {
		case <-poll.C:
		case <-deadline.C:
			s.metrics.drainTimeouts.Inc()
			keys := make([]revision.Key, len(pending))
			for i, w := range pending {
				keys[i] = w.key
			}
			s.log.Warnw("No fallback was published in time; giving the proxies back anyway",
				zap.Stringers("revisions", keys), zap.Duration("waited", s.opts.MaxFallbackWait))
			return
		case <-s.ctx.Done():
			return
		}
	}
	drain := time.NewTimer(s.opts.DrainPeriod)
	defer drain.Stop()
	select {
	case <-drain.C:
	case <-s.ctx.Done():
	}
}

// withdrawAllLocked withdraws every published proxy when the replica
// stops, for its proxies are about to lose their configuration, and returns
// what it withdrew.
func (s *Server) withdrawAllLocked() []withdrawal {
	var out []withdrawal
	for _, l := range s.leases {
		if w := s.withdrawLocked(l); len(w.proxies) > 0 {
			out = append(out, w)
		}
	}
	return out
}
