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

package lifecycle

import (
	"context"
	"fmt"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// meterName scopes the autoscaler hook's instruments; they go through the
// meter provider sharedmain installs, with the controller's other metrics.
const meterName = "github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle"

// Metric names, as exported.
const (
	// MetricLifecycleClass is 1 for each revision with a reported
	// observation, labelled with the class the observation gives it.
	MetricLifecycleClass = "ssm.revision.lifecycle.class"
	// MetricRequestDuration is a revision's reported p50 and p99 request
	// duration, in seconds, labelled with the quantile.
	MetricRequestDuration = "ssm.revision.request.duration"

	attrNamespace = "k8s.namespace.name"
	attrRevision  = "kn.revision.name"
	attrClass     = "ssm.lifecycle.class"
	attrQuantile  = "ssm.quantile"
)

// RegisterMetrics exports, through mp, what the History reports for each
// revision: the observed class and p50/p99, the same observation the
// KIngress reconciler resolves "auto" and derived timeouts from. Revisions
// without a reported observation export nothing.
func (h *History) RegisterMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	meter := mp.Meter(meterName)
	class, err := meter.Int64ObservableGauge(MetricLifecycleClass,
		metric.WithDescription("1 per revision, labelled with the lifecycle class its observed execution time gives it."))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", MetricLifecycleClass, err)
	}
	duration, err := meter.Float64ObservableGauge(MetricRequestDuration, metric.WithUnit("s"),
		metric.WithDescription("A revision's observed request duration at the p50 and p99 quantiles, as SSM reports it to policy resolution."))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", MetricRequestDuration, err)
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, r := range h.reported() {
			rev := []attribute.KeyValue{attribute.String(attrNamespace, r.key.Namespace), attribute.String(attrRevision, r.key.Name)}
			o.ObserveInt64(class, 1, metric.WithAttributes(append(rev, attribute.String(attrClass, string(r.observer.reportedClass)))...))
			o.ObserveFloat64(duration, r.observer.reported.P50.Seconds(), metric.WithAttributes(append(rev, attribute.String(attrQuantile, "0.5"))...))
			o.ObserveFloat64(duration, r.observer.reported.P99.Seconds(), metric.WithAttributes(append(rev, attribute.String(attrQuantile, "0.99"))...))
		}
		return nil
	}, class, duration)
}

// reportedRevision is one revision's reported observation.
type reportedRevision struct {
	key      revision.Key
	observer observer
}

// reported copies, under the lock, every revision's reported observation,
// sorted by key.
func (h *History) reported() []reportedRevision {
	h.mu.Lock()
	out := make([]reportedRevision, 0, len(h.revisions))
	for k, r := range h.revisions {
		if r.hasReported {
			out = append(out, reportedRevision{key: k, observer: r.observer})
		}
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].key.Namespace != out[j].key.Namespace {
			return out[i].key.Namespace < out[j].key.Namespace
		}
		return out[i].key.Name < out[j].key.Name
	})
	return out
}
