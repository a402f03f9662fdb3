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
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclientset "knative.dev/serving/pkg/client/clientset/versioned"
	servinginformers "knative.dev/serving/pkg/client/informers/externalversions"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
	knnetworking "knative.dev/serving/pkg/networking"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	ssmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned"
	ssminformers "github.com/serverless-mesh/ssm/pkg/client/informers/externalversions"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
	"github.com/serverless-mesh/ssm/pkg/pool/source"
)

// watches are ssm-pool's informers: everything a lease reads comes from
// these caches, so Lease never waits on the API server.
type watches struct {
	logger    *zap.SugaredLogger
	src       *source.Source
	revisions servinglisters.RevisionLister
	secrets   corev1listers.SecretLister
	// leaseSlices caches the lease Services' EndpointSlices (SSM's own).
	leaseSlices discoverylisters.EndpointSliceLister
	namespace   string
	tlsSecret   string
	synced      []cache.InformerSynced
	start       []func(<-chan struct{})
	// notify is called with every revision whose pooled configuration may
	// have changed; set once, before the informers start.
	notify atomic.Pointer[func(revision.Key)]
}

func newWatches(cfg *rest.Config, kube kubernetes.Interface, f flags, logger *zap.SugaredLogger) (*watches, error) {
	servingClient, err := servingclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("serving client: %w", err)
	}
	ssmClient, err := ssmclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("ssm client: %w", err)
	}
	const resync = 0
	// Only revisions' private EndpointSlices matter; the rest of the
	// cluster's slices are never cached.
	slicesFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{knnetworking.ServiceTypeKey: string(knnetworking.ServiceTypePrivate)}.String()
		}))
	// The lease Services' slices: SSM's own, by label.
	leaseSlicesFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{ssm.ManagedByLabelKey: ssm.ManagedByLabelValue}.String() + "," + discoveryv1.LabelServiceName
		}))
	// Exactly one Secret, which is all ssm-pool's Role grants.
	secretFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithNamespace(f.namespace),
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", f.tlsSecret).String()
		}))
	configFactory := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithNamespace(f.namespace),
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", config.SSMConfigName).String()
		}))
	// SSM's DestinationRules, metadata only (no Istio types in ssm-pool):
	// the class the controller applied to each revision.
	metaClient, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	drFactory := metadatainformer.NewFilteredSharedInformerFactory(metaClient, resync, metav1.NamespaceAll,
		func(o *metav1.ListOptions) {
			o.LabelSelector = labels.Set{ssm.ManagedByLabelKey: ssm.ManagedByLabelValue}.String()
		})
	destinationRules := drFactory.ForResource(schema.GroupVersionResource{
		Group: "networking.istio.io", Version: "v1beta1", Resource: "destinationrules",
	})
	if err := destinationRules.Informer().AddIndexers(source.DestinationRuleIndexers()); err != nil {
		return nil, fmt.Errorf("indexing DestinationRules: %w", err)
	}
	servingFactory := servinginformers.NewSharedInformerFactory(servingClient, resync)
	ssmFactory := ssminformers.NewSharedInformerFactory(ssmClient, resync)

	slices := slicesFactory.Discovery().V1().EndpointSlices()
	leaseSlices := leaseSlicesFactory.Discovery().V1().EndpointSlices()
	autoscalers := servingFactory.Autoscaling().V1alpha1().PodAutoscalers()
	secrets := secretFactory.Core().V1().Secrets()
	configMaps := configFactory.Core().V1().ConfigMaps()
	revisions := servingFactory.Serving().V1().Revisions()
	services := servingFactory.Serving().V1().Services()
	policies := ssmFactory.Ssm().V1alpha1().ServerlessPolicies()
	pools := ssmFactory.Ssm().V1alpha1().ProxyPools()

	w := &watches{
		logger:      logger,
		revisions:   revisions.Lister(),
		secrets:     secrets.Lister(),
		namespace:   f.namespace,
		leaseSlices: leaseSlices.Lister(),
		tlsSecret:   f.tlsSecret,
		src: source.New(source.Listers{
			Revisions:        revisions.Lister(),
			Services:         services.Lister(),
			Policies:         policies.Lister(),
			Pools:            pools.Lister(),
			EndpointSlices:   slices.Lister(),
			PodAutoscalers:   autoscalers.Lister(),
			DestinationRules: destinationRules.Informer().GetIndexer(),
		}, f.namespace),
	}
	handlers := []struct {
		informer cache.SharedIndexInformer
		changed  func(obj any)
	}{
		{revisions.Informer(), w.revisionChanged},
		{autoscalers.Informer(), w.autoscalerChanged},
		{leaseSlices.Informer(), nil},
		{slices.Informer(), w.sliceChanged},
		{services.Informer(), w.serviceChanged},
		{policies.Informer(), w.namespaceChanged},
		{configMaps.Informer(), w.configChanged},
		{secrets.Informer(), nil},
		{pools.Informer(), nil},
		{destinationRules.Informer(), w.destinationRuleChanged},
	}
	for _, h := range handlers {
		if h.changed != nil {
			if _, err := h.informer.AddEventHandler(changeHandler(h.changed)); err != nil {
				return nil, fmt.Errorf("adding an event handler: %w", err)
			}
		}
		w.synced = append(w.synced, h.informer.HasSynced)
	}
	w.start = []func(<-chan struct{}){slicesFactory.Start, leaseSlicesFactory.Start, secretFactory.Start, configFactory.Start,
		servingFactory.Start, ssmFactory.Start, drFactory.Start}
	return w, nil
}

// run starts the informers; ready() turns true once they have synced.
func (w *watches) run(ctx context.Context) {
	for _, start := range w.start {
		start(ctx.Done())
	}
}

func (w *watches) ready() error {
	for _, synced := range w.synced {
		if !synced() {
			return errors.New("informer caches have not synced yet")
		}
	}
	if _, err := w.secrets.Secrets(w.namespace).Get(w.tlsSecret); err != nil {
		return fmt.Errorf("serving certificate %s/%s: %w", w.namespace, w.tlsSecret, err)
	}
	return nil
}

func (w *watches) changed(key revision.Key) {
	if notify := w.notify.Load(); notify != nil {
		(*notify)(key)
	}
}

func changeHandler(f func(obj any)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    f,
		UpdateFunc: func(_, obj any) { f(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			f(obj)
		},
	}
}

func (w *watches) revisionChanged(obj any) {
	if rev, ok := obj.(*servingv1.Revision); ok {
		w.changed(revision.Key{Namespace: rev.Namespace, Name: rev.Name})
	}
}

// autoscalerChanged: a PodAutoscaler is named after its revision; its
// desired scale says when Knative takes the revision to zero.
func (w *watches) autoscalerChanged(obj any) {
	if pa, ok := obj.(*autoscalingv1alpha1.PodAutoscaler); ok {
		w.changed(revision.Key{Namespace: pa.Namespace, Name: pa.Name})
	}
}

// destinationRuleChanged: the controller applied a class to a revision;
// its leased proxies get the policy of that class.
func (w *watches) destinationRuleChanged(obj any) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if name := m.GetAnnotations()[ssm.RouteRevisionAnnotationKey]; name != "" {
		w.changed(revision.Key{Namespace: m.GetNamespace(), Name: name})
	}
}

func (w *watches) sliceChanged(obj any) {
	if slice, ok := obj.(*discoveryv1.EndpointSlice); ok {
		if key, ok := source.RevisionOfSlice(slice); ok {
			w.changed(key)
		}
	}
}

// serviceChanged: a Knative Service's labels decide which ServerlessPolicy
// selects its revisions.
func (w *watches) serviceChanged(obj any) {
	svc, ok := obj.(*servingv1.Service)
	if !ok {
		return
	}
	w.revisionsMatching(svc.Namespace, labels.SelectorFromSet(labels.Set{serving.ServiceLabelKey: svc.Name}))
}

// namespaceChanged: a ServerlessPolicy may select any Service of its namespace.
func (w *watches) namespaceChanged(obj any) {
	if o, ok := obj.(metav1.Object); ok {
		w.revisionsMatching(o.GetNamespace(), labels.Everything())
	}
}

func (w *watches) revisionsMatching(namespace string, sel labels.Selector) {
	revs, err := w.revisions.Revisions(namespace).List(sel)
	if err != nil {
		w.logger.Errorw("listing revisions", "namespace", namespace, zap.Error(err))
		return
	}
	for _, rev := range revs {
		w.changed(revision.Key{Namespace: rev.Namespace, Name: rev.Name})
	}
}

// configChanged applies a config-ssm that parses; a rejected one keeps the
// last good defaults, as in the controller, and says why.
func (w *watches) configChanged(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	parsed, err := config.NewSSMFromConfigMap(cm)
	if err != nil {
		w.logger.Errorw("config-ssm rejected; keeping the last accepted policy defaults", zap.Error(err))
		return
	}
	w.src.SetConfig(parsed.Policy, parsed.SidecarlessRevisions)
	w.revisionsMatching(metav1.NamespaceAll, labels.Everything())
}
