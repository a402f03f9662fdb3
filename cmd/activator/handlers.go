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

package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	netprobe "knative.dev/networking/pkg/http/probe"
	activatorconfig "knative.dev/serving/pkg/activator/config"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	apiconfig "knative.dev/serving/pkg/apis/config"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	pkghttp "knative.dev/serving/pkg/http"
	"knative.dev/serving/pkg/http/handler"
	"knative.dev/serving/pkg/logging"
	o11yconfigmap "knative.dev/serving/pkg/observability/configmap"
)

// handlerDeps is what the request chain is built from.
type handlerDeps struct {
	logger      *zap.SugaredLogger
	podName     string
	path        proxyPath
	internalTLS bool
	meshLB      bool
	reporter    *activatorhandler.ConcurrencyReporter
	store       *activatorconfig.Store
	health      func() error
	mp          metric.MeterProvider
	tp          trace.TracerProvider
}

// requestChain builds the activator's handlers. Each wraps the previous one,
// so the list reads from the innermost (the proxy) to the outermost (health
// checks); the SSM hook sits right around Knative's activation handler,
// inside the context handler that names the revision.
func requestChain(ctx context.Context, d handlerDeps) (http.Handler, *pkghttp.RequestLogHandler, error) {
	var h http.Handler = activatorhandler.New(ctx, d.path.throttler, d.path.transport, d.meshLB,
		d.logger, d.internalTLS, d.tp, d.mp)
	h = d.path.wrap(h)
	h = handler.NewTimeoutHandler(h, "activator request timeout", revisionTimeouts, d.logger)
	h = d.reporter.Handler(h)
	h = activatorhandler.NewTracingAttributeHandler(d.tp, h)
	requestLog, err := pkghttp.NewRequestLogHandler(h, logging.NewSyncFileWriter(os.Stdout), "",
		requestLogInput, false /* no request log for probes */)
	if err != nil {
		return nil, nil, err
	}
	// Metrics are taken outside the request log and inside the probe
	// handlers: probes are not requests worth measuring.
	h = activatorhandler.NewMetricAttributeHandler(d.podName, requestLog)
	h = activatorhandler.WrapActivatorHandlerWithFullDuplex(h, d.logger)
	h = activatorhandler.NewContextHandler(ctx, h, d.store)
	h = otelhttp.NewHandler(h, "handle", otelhttp.WithTracerProvider(d.tp), otelhttp.WithMeterProvider(d.mp))
	h = &activatorhandler.ProbeHandler{NextHandler: h}
	h = netprobe.NewHandler(h)
	h = &activatorhandler.HealthHandler{HealthCheck: d.health, NextHandler: h, Logger: d.logger}
	return h, requestLog, nil
}

// revisionTimeouts are the request, response-start and idle timeouts of the
// request's revision, or Knative's defaults when it is unknown.
func revisionTimeouts(r *http.Request) (request, responseStart, idle time.Duration) {
	rev := activatorhandler.RevisionFrom(r.Context())
	if rev == nil {
		return apiconfig.DefaultRevisionTimeoutSeconds * time.Second,
			apiconfig.DefaultRevisionResponseStartTimeoutSeconds * time.Second,
			apiconfig.DefaultRevisionIdleTimeoutSeconds * time.Second
	}
	request = apiconfig.DefaultRevisionTimeoutSeconds * time.Second
	if rev.Spec.TimeoutSeconds != nil {
		request = seconds(rev.Spec.TimeoutSeconds)
	}
	// Unset, these two mean "no timeout", not Knative's defaults.
	return request, seconds(rev.Spec.ResponseStartTimeoutSeconds), seconds(rev.Spec.IdleTimeoutSeconds)
}

func seconds(s *int64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

// requestLogInput names the revision of a logged request; the context
// handler has put it on the request.
func requestLogInput(req *http.Request, resp *pkghttp.RequestLogResponse) *pkghttp.RequestLogTemplateInput {
	return &pkghttp.RequestLogTemplateInput{
		Request:  req,
		Response: resp,
		Revision: logRevision(activatorhandler.RevisionFrom(req.Context())),
	}
}

func logRevision(rev *servingv1.Revision) *pkghttp.RequestLogRevision {
	return &pkghttp.RequestLogRevision{
		Namespace:     rev.Namespace,
		Name:          rev.Name,
		Configuration: rev.Labels[serving.ConfigurationLabelKey],
		Service:       rev.Labels[serving.ServiceLabelKey],
	}
}

// followRequestLogConfig switches the request log on and off, and changes
// its template, as config-observability changes.
func followRequestLogConfig(logger *zap.SugaredLogger, requestLog *pkghttp.RequestLogHandler) func(*corev1.ConfigMap) {
	return func(cm *corev1.ConfigMap) {
		cfg, err := o11yconfigmap.Parse(cm)
		if err != nil {
			logger.Errorw("Ignoring an invalid observability ConfigMap", zap.Error(err))
			return
		}
		template := ""
		if cfg.EnableRequestLog {
			template = cfg.RequestLogTemplate
		}
		if err := requestLog.SetTemplate(template); err != nil {
			logger.Errorw("Keeping the previous request log template", zap.String("template", template), zap.Error(err))
			return
		}
		logger.Infow("Request log template updated", zap.String("template", template))
	}
}
