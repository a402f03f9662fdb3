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

	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/webhook"
	"knative.dev/pkg/webhook/configmaps"
	"knative.dev/pkg/webhook/resourcesemantics"
	"knative.dev/pkg/webhook/resourcesemantics/defaulting"
	"knative.dev/pkg/webhook/resourcesemantics/validation"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/config"
)

// Names the install YAML (config/500-webhook.yaml, config/600-webhook-configurations.yaml)
// must use: the admission controllers find their webhook configurations,
// Service and Secret by exactly these names.
const (
	// ServiceName is the webhook's Service in the system namespace.
	ServiceName = "ssm-webhook"
	// SecretName holds the serving certificate the certificates controller writes.
	SecretName = "ssm-webhook-certs"

	// DefaultingWebhookName is the MutatingWebhookConfiguration for the CRDs.
	DefaultingWebhookName = "defaulting.webhook.ssm.dev"
	// ValidationWebhookName is the ValidatingWebhookConfiguration for the CRDs
	// and the ssm.dev/* annotations on Knative Serving objects.
	ValidationWebhookName = "validation.webhook.ssm.dev"
	// ConfigValidationWebhookName is the ValidatingWebhookConfiguration for config-ssm.
	ConfigValidationWebhookName = "config.webhook.ssm.dev"

	// DefaultingPath, ValidationPath and ConfigValidationPath are the HTTPS
	// paths the controllers serve; the reconcilers write them into the
	// webhook configurations.
	DefaultingPath       = "/defaulting"
	ValidationPath       = "/resource-validation"
	ConfigValidationPath = "/config-validation"
)

// CRDTypes are the ssm.dev kinds the webhook defaults and validates.
func CRDTypes() map[schema.GroupVersionKind]resourcesemantics.GenericCRD {
	return map[schema.GroupVersionKind]resourcesemantics.GenericCRD{
		v1alpha1.SchemeGroupVersion.WithKind("ServerlessPolicy"): &v1alpha1.ServerlessPolicy{},
		v1alpha1.SchemeGroupVersion.WithKind("ProxyPool"):        &v1alpha1.ProxyPool{},
	}
}

// knativeKinds are the Knative Serving kinds whose ssm.dev/* annotations the
// validation webhook checks.
func knativeKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		servingv1.SchemeGroupVersion.WithKind("Service"),
		servingv1.SchemeGroupVersion.WithKind("Configuration"),
		servingv1.SchemeGroupVersion.WithKind("Revision"),
	}
}

// ValidationTypes are the handlers of the validation admission controller:
// the CRDs, plus a pass-through handler for each Knative kind. knative.dev/pkg
// decodes every request into its kind's handler before it runs callbacks and
// rejects kinds without one ("unhandled kind"), so a callback alone would
// turn away every Knative Service. The pass-through handler validates
// nothing itself; ValidationCallbacks does the work.
func ValidationTypes() map[schema.GroupVersionKind]resourcesemantics.GenericCRD {
	types := CRDTypes()
	for _, gvk := range knativeKinds() {
		types[gvk] = &knativeObject{}
	}
	return types
}

// ValidationCallbacks check the ssm.dev/* annotations of Knative Serving
// objects on create and update. Deleting an object applies no policy, so
// DELETE is not intercepted.
func ValidationCallbacks() map[schema.GroupVersionKind]validation.Callback {
	callbacks := make(map[schema.GroupVersionKind]validation.Callback, len(knativeKinds()))
	for _, gvk := range knativeKinds() {
		callbacks[gvk] = validation.NewCallback(ValidateKnativeAnnotations, webhook.Create, webhook.Update)
	}
	return callbacks
}

// ConfigConstructors are the ConfigMaps the config webhook validates: only
// SSM's own. config-istio belongs to net-istio and Knative's ConfigMaps to
// Knative's webhook; validating them here too would make two webhooks
// disagree about the same object.
func ConfigConstructors() configmap.Constructors {
	return configmap.Constructors{
		config.SSMConfigName: config.NewSSMFromConfigMap,
	}
}

// NewDefaultingAdmissionController defaults ServerlessPolicy and ProxyPool.
func NewDefaultingAdmissionController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	return defaulting.NewAdmissionController(ctx,
		DefaultingWebhookName, DefaultingPath,
		CRDTypes(),
		unchangedContext,
		// Unknown fields are allowed: see NewValidationAdmissionController.
		false,
	)
}

// NewValidationAdmissionController validates ServerlessPolicy and ProxyPool,
// and the ssm.dev/* annotations of Knative Services, Configurations and
// Revisions.
func NewValidationAdmissionController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	return validation.NewAdmissionController(ctx,
		ValidationWebhookName, ValidationPath,
		ValidationTypes(),
		unchangedContext,
		// Unknown fields are allowed: the CRDs carry structural schemas, so
		// the API server has pruned or rejected them before admission, and
		// during an upgrade a webhook older than the CRD must not reject the
		// fields the newer schema adds.
		false,
		ValidationCallbacks(),
	)
}

// NewConfigValidationController validates config-ssm.
func NewConfigValidationController(ctx context.Context, _ configmap.Watcher) *controller.Impl {
	return configmaps.NewAdmissionController(ctx,
		ConfigValidationWebhookName, ConfigValidationPath,
		ConfigConstructors(),
	)
}

// unchangedContext is the admission controllers' context decorator: no SSM
// type reads configuration from the context during SetDefaults or Validate.
func unchangedContext(ctx context.Context) context.Context {
	return ctx
}
