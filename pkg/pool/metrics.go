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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

const (
	replacementPlaced  = "placed"
	replacementDropped = "dropped"
)

// metrics are the ssm_pool_* series. They exist (unregistered) even without
// a Registerer, so the code that counts never checks.
type metrics struct {
	leases        *prometheus.CounterVec
	leaseDuration prometheus.Histogram
	nacks         *prometheus.CounterVec
	unhealthy     prometheus.Counter
	replacements  *prometheus.CounterVec
	expiries      prometheus.Counter
	drains        prometheus.Counter
	drainTimeouts prometheus.Counter
	loadReports   *prometheus.CounterVec
	proxies       *proxyCollector
}

func newMetrics(s *Server) *metrics {
	return &metrics{
		leases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssm_pool_leases_total",
			Help: "Lease calls by outcome (granted, exhausted, no_warm_proxy, not_pooled, not_acked, not_found, error).",
		}, []string{"outcome"}),
		leaseDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ssm_pool_lease_duration_seconds",
			Help: "Latency of Lease calls, including the wait for the proxy's ACK.",
			// 100 µs to ~10 s: refusals answer in well under 1 ms, grants
			// take a few network round trips.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 13),
		}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssm_pool_nacks_total",
			Help: "Configurations rejected by proxies, by xDS type.",
		}, []string{"type"}),
		unhealthy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssm_pool_unhealthy_total",
			Help: "Proxies marked unhealthy after rejecting a configuration.",
		}),
		replacements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssm_pool_replacements_total",
			Help: "Leases whose proxy was lost (NACK or disconnect), by result (placed on another proxy, dropped).",
		}, []string{"result"}),
		expiries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssm_pool_lease_expiries_total",
			Help: "Leases ended by the idle timeout.",
		}),
		drains: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssm_pool_lease_drains_total",
			Help: "Ended leases whose proxy was published to the gateway and kept the revision's configuration until the activator took its traffic back.",
		}),
		drainTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ssm_pool_lease_drain_timeouts_total",
			Help: "Drains that gave the proxy back without having seen the activator published for the revision (is SSM's controller running?).",
		}),
		loadReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ssm_pool_load_reports_total",
			Help: "Load reports received from proxies, by whether they showed traffic to the leased revision (busy) or not (idle).",
		}, []string{"traffic"}),
		proxies: &proxyCollector{s: s, desc: prometheus.NewDesc("ssm_pool_proxies",
			"Proxies connected to this replica, by pool and state (warming, warm, leased, unhealthy).",
			[]string{"pool", "state"}, nil)},
	}
}

func (m *metrics) register(r prometheus.Registerer, log *zap.SugaredLogger) {
	if r == nil {
		return
	}
	for _, c := range []prometheus.Collector{m.leases, m.leaseDuration, m.nacks, m.unhealthy, m.replacements,
		m.expiries, m.drains, m.drainTimeouts, m.loadReports, m.proxies} {
		if err := r.Register(c); err != nil {
			log.Errorw("Registering a metric", zap.Error(err))
		}
	}
}

func (m *metrics) observeLease(resp *leaseapi.LeaseResponse, err error, d time.Duration) {
	m.leaseDuration.Observe(d.Seconds())
	m.leases.WithLabelValues(leaseOutcome(resp, err)).Inc()
}

func leaseOutcome(resp *leaseapi.LeaseResponse, err error) string {
	switch {
	case err == nil:
		return strings.ToLower(resp.GetOutcome().String())
	case status.Code(err) == codes.NotFound:
		return "not_found"
	}
	return "error"
}

// proxyCollector reads the proxy counts at scrape time, so they can never
// drift from the state they describe.
type proxyCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func (c *proxyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *proxyCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	counts := c.s.countLocked()
	c.s.mu.Unlock()
	for pool, states := range counts {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), pool.String(), state)
		}
	}
}
