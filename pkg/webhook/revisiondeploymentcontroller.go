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

package webhook

import (
	"context"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	admissionlisters "k8s.io/client-go/listers/admissionregistration/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	mwhinformer "knative.dev/pkg/client/injection/kube/informers/admissionregistration/v1/mutatingwebhookconfiguration"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	secretinformer "knative.dev/pkg/injection/clients/namespacedkube/informers/core/v1/secret"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/ptr"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/system"
	"knative.dev/pkg/webhook"
	certresources "knative.dev/pkg/webhook/certificates/resources"

	"github.com/serverless-mesh/ssm/pkg/config"
)

const (
	// RevisionDeploymentWebhookName is the MutatingWebhookConfiguration for
	// the Deployments of Knative revisions. Its rules and object selector are
	// in config/600-webhook-configurations.yaml; the reconciler fills in only
	// the CA bundle and the path.
	RevisionDeploymentWebhookName = "deployments.webhook.ssm.dev"
	// RevisionDeploymentPath is the HTTPS path that webhook is served on.
	RevisionDeploymentPath = "/revision-deployments"
)

// revisionDeploymentController serves RevisionDeploymentPath and keeps its
// webhook configuration's CA bundle and path current.
type revisionDeploymentController struct {
	// Admit reads only the request: the decision stamped on the pod
	// template when the Revision was admitted, never an informer.
	webhook.StatelessAdmissionImpl
	*mutatingWebhook
}

var (
	_ controller.Reconciler                = (*revisionDeploymentController)(nil)
	_ pkgreconciler.LeaderAware            = (*revisionDeploymentController)(nil)
	_ webhook.AdmissionController          = (*revisionDeploymentController)(nil)
	_ webhook.StatelessAdmissionController = (*revisionDeploymentController)(nil)
)

// NewRevisionDeploymentController adjusts the pod templates of Knative
// revision Deployments to the decision stamped on their Revision (see
// planRevisionDeployment and NewRevisionController).
func NewRevisionDeploymentController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	c := &revisionDeploymentController{mutatingWebhook: newMutatingWebhook(ctx, RevisionDeploymentWebhookName, RevisionDeploymentPath)}
	return c.start(ctx, c, "RevisionDeploymentWebhook")
}

// watchSSMConfig feeds config-ssm into store. A watcher that supplies
// defaults (sharedmain's does) lets the webhook start without config-ssm;
// the mutation then runs on the built-in defaults.
func watchSSMConfig(cmw configmap.Watcher, store *configmap.UntypedStore) {
	if dw, ok := cmw.(configmap.DefaultingWatcher); ok {
		dw.WatchWithDefault(corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: config.SSMConfigName, Namespace: system.Namespace()},
		}, store.OnConfigChanged)
		return
	}
	cmw.Watch(config.SSMConfigName, store.OnConfigChanged)
}

// Admit implements webhook.AdmissionController. It always allows: the
// webhook's failurePolicy is Ignore for the same reason, since SSM must
// never block Knative from creating or updating a revision's Deployment.
func (c *revisionDeploymentController) Admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allowed
	}
	if req.Kind.Group != appsv1.GroupName || req.Kind.Version != "v1" || req.Kind.Kind != "Deployment" {
		return allowed
	}
	logger := logging.FromContext(ctx)
	var dep appsv1.Deployment
	if err := json.Unmarshal(req.Object.Raw, &dep); err != nil {
		allowed.Warnings = []string{fmt.Sprintf("SSM left Deployment %s/%s unchanged: decoding it: %v", req.Namespace, req.Name, err)}
		return allowed
	}
	plan := planRevisionDeployment(&dep)
	allowed.Warnings = plan.warnings
	patch, err := plan.encode()
	if err != nil {
		allowed.Warnings = append(allowed.Warnings, fmt.Sprintf("SSM left Deployment %s/%s unchanged: %v", dep.Namespace, dep.Name, err))
		return allowed
	}
	if patch != nil {
		logger.Debugf("Deployment %s/%s: patch %s", dep.Namespace, dep.Name, patch)
		pt := admissionv1.PatchTypeJSONPatch
		allowed.Patch, allowed.PatchType = patch, &pt
	}
	return allowed
}

// mutatingWebhook is what SSM's two mutating admission controllers share:
// they are leader-aware reconcilers of their MutatingWebhookConfiguration,
// which the install YAML creates and they keep pointed at this webhook
// (its CA bundle and path).
type mutatingWebhook struct {
	pkgreconciler.LeaderAwareFuncs
	name, path string
	key        types.NamespacedName

	secretName                string
	disableNamespaceOwnership bool
	client                    kubernetes.Interface
	mwhLister                 admissionlisters.MutatingWebhookConfigurationLister
	secretLister              corelisters.SecretLister
}

func newMutatingWebhook(ctx context.Context, name, path string) *mutatingWebhook {
	wopts := webhook.GetOptions(ctx)
	disableOwnership := wopts.DisableNamespaceOwnership
	if env := webhook.DisableNamespaceOwnershipFromEnv(); env != nil {
		disableOwnership = *env
	}
	key := types.NamespacedName{Name: name}
	return &mutatingWebhook{
		LeaderAwareFuncs: pkgreconciler.LeaderAwareFuncs{
			// The configuration is a singleton: the leader reconciles it.
			PromoteFunc: func(bkt pkgreconciler.Bucket, enq func(pkgreconciler.Bucket, types.NamespacedName)) error {
				enq(bkt, key)
				return nil
			},
		},
		name:                      name,
		path:                      path,
		key:                       key,
		secretName:                wopts.SecretName,
		disableNamespaceOwnership: disableOwnership,
		client:                    kubeclient.Get(ctx),
		mwhLister:                 mwhinformer.Get(ctx).Lister(),
		secretLister:              secretinformer.Get(ctx).Lister(),
	}
}

// start returns the controller of r, which embeds m, reconciled whenever
// m's webhook configuration or the serving certificate changes.
func (m *mutatingWebhook) start(ctx context.Context, r controller.Reconciler, queueName string) *controller.Impl {
	logger := logging.FromContext(ctx)
	impl := controller.NewContext(ctx, r, controller.ControllerOptions{WorkQueueName: queueName, Logger: logger.Named(queueName)})
	enqueue := func(any) { impl.EnqueueKey(m.key) }
	mwhinformer.Get(ctx).Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: controller.FilterWithName(m.name),
		Handler:    controller.HandleAll(enqueue),
	})
	secretinformer.Get(ctx).Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: controller.FilterWithNameAndNamespace(system.Namespace(), m.secretName),
		Handler:    controller.HandleAll(enqueue),
	})
	return impl
}

// Path implements webhook.AdmissionController.
func (m *mutatingWebhook) Path() string {
	return m.path
}

// Reconcile implements controller.Reconciler: it writes the CA bundle and
// the path into the webhook configuration the install YAML created.
func (m *mutatingWebhook) Reconcile(ctx context.Context, key string) error {
	if !m.IsLeaderFor(m.key) {
		return controller.NewSkipKey(key)
	}
	return m.reconcileConfiguration(ctx)
}

func (m *mutatingWebhook) reconcileConfiguration(ctx context.Context) error {
	name, path := m.name, m.path
	secret, err := m.secretLister.Secrets(system.Namespace()).Get(m.secretName)
	if err != nil {
		return fmt.Errorf("reading webhook certificate Secret %s/%s: %w", system.Namespace(), m.secretName, err)
	}
	caCert, ok := secret.Data[certresources.CACert]
	if !ok {
		return fmt.Errorf("webhook certificate Secret %s/%s has no %q", system.Namespace(), m.secretName, certresources.CACert)
	}
	have, err := m.mwhLister.Get(name)
	if err != nil {
		return fmt.Errorf("reading MutatingWebhookConfiguration %s: %w", name, err)
	}
	want := have.DeepCopy()
	if !m.disableNamespaceOwnership {
		// Owned by the system namespace, like the other SSM webhook
		// configurations, so that it goes away with SSM.
		ns, err := m.client.CoreV1().Namespaces().Get(ctx, system.Namespace(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading Namespace %s: %w", system.Namespace(), err)
		}
		ref := *metav1.NewControllerRef(ns, corev1.SchemeGroupVersion.WithKind("Namespace"))
		ref.Controller = ptr.Bool(false)
		want.OwnerReferences = []metav1.OwnerReference{ref}
	}
	for i := range want.Webhooks {
		wh := &want.Webhooks[i]
		if wh.Name != name {
			continue
		}
		if wh.ClientConfig.Service == nil {
			return fmt.Errorf("MutatingWebhookConfiguration %s: webhook %s has no service reference", want.Name, wh.Name)
		}
		wh.ClientConfig.CABundle = caCert
		wh.ClientConfig.Service.Path = ptr.String(path)
	}
	if equality.Semantic.DeepEqual(have, want) {
		return nil
	}
	if _, err := m.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, want, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating MutatingWebhookConfiguration %s: %w", want.Name, err)
	}
	return nil
}
