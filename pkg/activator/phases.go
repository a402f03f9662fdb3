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

package activator

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"k8s.io/apimachinery/pkg/types"
)

// Instrument and span names, and the values of the phase attribute.
const (
	instrumentationName = "github.com/serverless-mesh/ssm/pkg/activator"

	coldStartDurationName = "ssm.activator.cold_start.duration"
	leaseOutcomesName     = "ssm.activator.lease.outcomes"
	coldStartSpanName     = "ssm.cold_start"

	phaseLeaseGranted = "lease_granted"
	phasePodReady     = "pod_ready"
	phaseFirstByte    = "first_byte"
)

// Attribute keys. The revision keys are Knative's, so the phases line up
// with the activator's own request metrics.
const (
	attrPhase     = attribute.Key("ssm.phase")
	attrVia       = attribute.Key("ssm.via")
	attrOutcome   = attribute.Key("ssm.lease.outcome")
	attrNamespace = attribute.Key("k8s.namespace.name")
	attrRevision  = attribute.Key("kn.revision.name")
)

// Values of attrVia: which path gave the first byte.
const (
	viaLease   = "lease"
	viaKnative = "knative"
)

// phaseRecorder holds the instruments every cold start records into.
type phaseRecorder struct {
	durations     metric.Float64Histogram
	leaseOutcomes metric.Int64Counter
	tracer        trace.Tracer
}

func newPhaseRecorder(mp metric.MeterProvider, tp trace.TracerProvider) (*phaseRecorder, error) {
	meter := mp.Meter(instrumentationName)
	durations, err := meter.Float64Histogram(coldStartDurationName,
		metric.WithDescription("Time from a cold start's first request to each phase: lease granted, first pod ready, first byte"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	if err != nil {
		return nil, fmt.Errorf("instrument %s: %w", coldStartDurationName, err)
	}
	outcomes, err := meter.Int64Counter(leaseOutcomesName,
		metric.WithDescription("Lease calls to ssm-pool by outcome"))
	if err != nil {
		return nil, fmt.Errorf("instrument %s: %w", leaseOutcomesName, err)
	}
	return &phaseRecorder{durations: durations, leaseOutcomes: outcomes, tracer: tp.Tracer(instrumentationName)}, nil
}

func (r *phaseRecorder) leaseAnswered(ctx context.Context, outcome string) {
	r.leaseOutcomes.Add(ctx, 1, metric.WithAttributes(attrOutcome.String(outcome)))
}

// begin starts a cold start at the arrival of its first request. Its span
// is a child of that request's span.
func (r *phaseRecorder) begin(ctx context.Context, revID types.NamespacedName, arrival time.Time) *coldStart {
	revAttrs := []attribute.KeyValue{attrNamespace.String(revID.Namespace), attrRevision.String(revID.Name)}
	_, span := r.tracer.Start(ctx, coldStartSpanName, trace.WithTimestamp(arrival), trace.WithAttributes(revAttrs...))
	return &coldStart{rec: r, arrival: arrival, span: span, revAttrs: revAttrs}
}

// coldStart is one cold start of a revision. Each phase is recorded once,
// by whichever request or goroutine reaches it first.
type coldStart struct {
	rec      *phaseRecorder
	arrival  time.Time
	span     trace.Span
	revAttrs []attribute.KeyValue

	granted, ready, firstByte atomic.Bool
}

func (c *coldStart) leaseGranted(now time.Time) {
	if c.granted.CompareAndSwap(false, true) {
		c.record(phaseLeaseGranted, now)
	}
}

func (c *coldStart) podReady(now time.Time) {
	if c.ready.CompareAndSwap(false, true) {
		c.record(phasePodReady, now)
	}
}

func (c *coldStart) firstByteVia(now time.Time, via string) {
	if c.firstByte.CompareAndSwap(false, true) {
		c.record(phaseFirstByte, now, attrVia.String(via))
	}
}

func (c *coldStart) podReadySeen() bool  { return c.ready.Load() }
func (c *coldStart) firstByteSeen() bool { return c.firstByte.Load() }

// endSpan ends the span when the cold start's first request is done; a
// phase reached later is still a metric, no longer an event.
func (c *coldStart) endSpan() { c.span.End() }

func (c *coldStart) record(phase string, now time.Time, extra ...attribute.KeyValue) {
	attrs := make([]attribute.KeyValue, 0, len(c.revAttrs)+1+len(extra))
	attrs = append(attrs, c.revAttrs...)
	attrs = append(attrs, attrPhase.String(phase))
	attrs = append(attrs, extra...)
	c.rec.durations.Record(context.Background(), now.Sub(c.arrival).Seconds(), metric.WithAttributes(attrs...))
	c.span.AddEvent(phase, trace.WithTimestamp(now), trace.WithAttributes(extra...))
}
