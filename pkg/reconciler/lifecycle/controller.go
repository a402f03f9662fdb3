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

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	endpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/serving/pkg/apis/autoscaling"
	"knative.dev/serving/pkg/apis/serving"
	painformer "knative.dev/serving/pkg/client/injection/informers/autoscaling/v1alpha1/podautoscaler"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	"knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/reconciler/lifecycle/queuemetrics"
)

// NewController returns the constructor of the lifecycle controller, for
// sharedmain, feeding h. It also starts h's scrape loop, which stops with
// the context the constructor is given.
func NewController(h *History) injection.ControllerConstructor {
	return func(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
		impl := newController(ctx, cmw, h)
		loop := &scrapeLoop{history: h, scraper: queuemetrics.NewHTTPScraper(h.opts.MetricsPort)}
		go loop.run(ctx)
		return impl
	}
}

// newController wires informers and config-ssm to a Reconciler over h.
func newController(ctx context.Context, cmw configmap.Watcher, h *History) *controller.Impl {
	logger := logging.FromContext(ctx)
	paInformer := painformer.Get(ctx)
	revisionInformer := revisioninformer.Get(ctx)
	endpointsInformer := endpointsinformer.Get(ctx)

	r := &Reconciler{
		paLister:        paInformer.Lister(),
		revisionLister:  revisionInformer.Lister(),
		endpointsLister: endpointsInformer.Lister(),
		history:         h,
		clock:           h.opts.Clock,
	}
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{WorkQueueName: "Lifecycle", Logger: logger})

	// Every object is mapped to its revision's key: PAs and private
	// Endpoints carry the revision label, Revisions are their own key.
	enqueueRevision := impl.EnqueueLabelOfNamespaceScopedResource("", serving.RevisionLabelKey)
	paInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: pkgreconciler.AnnotationFilterFunc(autoscaling.ClassAnnotationKey, autoscaling.KPA, false),
		Handler:    controller.HandleAll(enqueueRevision),
	})
	revisionInformer.Informer().AddEventHandler(controller.HandleAll(impl.Enqueue))
	endpointsInformer.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: pkgreconciler.ChainFilterFuncs(
			pkgreconciler.LabelExistsFilterFunc(serving.RevisionLabelKey),
			pkgreconciler.LabelFilterFunc(networking.ServiceTypeKey, string(networking.ServiceTypePrivate), false),
		),
		Handler: controller.HandleAll(enqueueRevision),
	})

	// Thresholds, min-samples and class pools come from config-ssm; a bad
	// one is rejected by its webhook and the last good one is kept.
	cmw.Watch(config.SSMConfigName, func(cm *corev1.ConfigMap) {
		ssm, err := config.NewSSMFromConfigMap(cm)
		if err != nil {
			logger.Errorw("Ignoring invalid "+config.SSMConfigName, zap.Error(err))
			return
		}
		h.SetDefaults(ssm.Policy)
		h.SetObservation(ssm.Observation.Window, ssm.Observation.DwellWindows, ssm.Observation.ScrapeInterval)
	})
	return impl
}
