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

package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName scopes the plugin's instruments. They go through the meter
// provider queue-proxy already exports (sharedmain installs it as the OTel
// global before options run), so they leave the pod with queue-proxy's own
// metrics and need no extra port or registry.
const meterName = "github.com/serverless-mesh/ssm/pkg/queue"

// Metric names, as exported.
const (
	MetricRequests      = "ssm.queue.requests"
	MetricDuration      = "ssm.queue.request.duration"
	MetricHandshakes    = "ssm.queue.tls.handshakes"
	MetricRefusedPeers  = "ssm.queue.peers.refused"
	attrResult          = "ssm.result"
	attrPeer            = "ssm.peer"
	attrReason          = "ssm.reason"
	attrStatusCode      = "http.response.status_code"
	resultAccepted      = "accepted"
	resultRefused       = "refused"
	durationDescription = "Time queue-proxy's proxy handler took for a request that arrived on the SSM mTLS port."
)

// metrics are the plugin's instruments. A nil *metrics records nothing, so
// handlers built without a meter need no special case.
type metrics struct {
	requests   metric.Int64Counter
	duration   metric.Float64Histogram
	handshakes metric.Int64Counter
	refused    metric.Int64Counter
}

func newMetrics(mp metric.MeterProvider) (*metrics, error) {
	meter := mp.Meter(meterName)
	requests, err1 := meter.Int64Counter(MetricRequests,
		metric.WithDescription("Requests that arrived on the SSM mTLS port, by peer kind and status code."))
	duration, err2 := meter.Float64Histogram(MetricDuration, metric.WithUnit("s"),
		metric.WithDescription(durationDescription),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	handshakes, err3 := meter.Int64Counter(MetricHandshakes,
		metric.WithDescription("TLS handshakes on the SSM mTLS port, by result."))
	refused, err4 := meter.Int64Counter(MetricRefusedPeers,
		metric.WithDescription("Peers refused by the SSM plugin, by reason (TLS peer check or plaintext from outside the pod)."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("creating meter %s instruments: %w", meterName, err)
	}
	return &metrics{requests: requests, duration: duration, handshakes: handshakes, refused: refused}, nil
}

// handshake records one completed or refused handshake; detail is the peer
// kind when accepted and the refusal reason when not.
func (m *metrics) handshake(accepted bool, detail string) {
	if m == nil {
		return
	}
	// Handshakes carry no request context; Background only scopes the
	// recording call.
	ctx := context.Background()
	if accepted {
		m.handshakes.Add(ctx, 1, metric.WithAttributes(
			attribute.String(attrResult, resultAccepted), attribute.String(attrPeer, detail)))
		return
	}
	m.handshakes.Add(ctx, 1, metric.WithAttributes(attribute.String(attrResult, resultRefused)))
	m.refused.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, detail)))
}

// refusedPlaintext records a plaintext request refused on the main port.
func (m *metrics) refusedPlaintext(ctx context.Context) {
	if m == nil {
		return
	}
	m.refused.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, reasonPlaintext)))
}

// request records one request that arrived on the mTLS port.
func (m *metrics) request(ctx context.Context, peer string, code int, elapsed time.Duration) {
	if m == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String(attrPeer, peer), attribute.Int(attrStatusCode, code))
	m.requests.Add(ctx, 1, attrs)
	m.duration.Record(ctx, elapsed.Seconds(), attrs)
}
