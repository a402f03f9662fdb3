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

package ingress

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	"knative.dev/pkg/tracker"

	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/reconciler/ingress/resources"
)

// gatewayServices reads the Services in front of the external and local
// gateways selected for a KIngress: its own Gateways select the same pods.
func (r *Reconciler) gatewayServices(selected *selectedGateways) (external, local []resources.GatewayService, err error) {
	if external, err = r.servicesOf(selected.external); err != nil {
		return nil, nil, err
	}
	if local, err = r.servicesOf(selected.local); err != nil {
		return nil, nil, err
	}
	return external, local, nil
}

func (r *Reconciler) servicesOf(gateways []config.Gateway) ([]resources.GatewayService, error) {
	out := make([]resources.GatewayService, 0, len(gateways))
	for _, gw := range gateways {
		key, err := resources.GatewayServiceKey(gw)
		if err != nil {
			return nil, err
		}
		svc, err := r.gatewayServiceLister.Services(key.Namespace).Get(key.Name)
		if err != nil {
			return nil, fmt.Errorf("gateway %s: getting its Service %s: %w", gw.QualifiedName(), key, err)
		}
		out = append(out, resources.GatewayService{Namespace: svc.Namespace, Name: svc.Name, Selector: svc.Spec.Selector})
	}
	return out, nil
}

// reconcileGateways writes ing's own Gateways (TLS servers, HTTPS
// redirects) and the certificate copies they read, and returns the gateways
// each visibility of ing is bound to.
func (r *Reconciler) reconcileGateways(ctx context.Context, ing *v1alpha1.Ingress, cfg *config.Config,
	selected *selectedGateways, external, local []resources.GatewayService,
) (map[v1alpha1.IngressVisibility]sets.Set[string], error) {
	origins, err := r.originSecrets(ctx, ing, cfg)
	if err != nil {
		return nil, err
	}
	var servingSecrets []resources.GatewayService
	if len(ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityExternalIP)) > 0 {
		servingSecrets = append(servingSecrets, external...)
	}
	if clusterLocalTLS(cfg) {
		servingSecrets = append(servingSecrets, local...)
	}
	if err := syncObjects(ctx, ing, r.secretOps(), resources.MakeSecrets(ing, origins, servingSecrets)); err != nil {
		return nil, err
	}

	own, err := resources.MakeExternalGateways(ing, origins, external)
	if err != nil {
		return nil, fmt.Errorf("building external Gateways: %w", err)
	}
	bound := map[v1alpha1.IngressVisibility]sets.Set[string]{
		v1alpha1.IngressVisibilityExternalIP:   sets.New[string](),
		v1alpha1.IngressVisibilityClusterLocal: qualifiedNames(selected.local),
	}
	if len(own) == 0 {
		bound[v1alpha1.IngressVisibilityExternalIP] = qualifiedNames(selected.external)
	}
	for _, gw := range own {
		bound[v1alpha1.IngressVisibilityExternalIP].Insert(gw.Namespace + "/" + gw.Name)
	}
	if clusterLocalTLS(cfg) {
		tls := ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityClusterLocal)
		localOwn, err := resources.MakeIngressTLSGateways(ing, v1alpha1.IngressVisibilityClusterLocal, tls, origins, local)
		if err != nil {
			return nil, fmt.Errorf("building cluster-local TLS Gateways: %w", err)
		}
		for _, gw := range localOwn {
			bound[v1alpha1.IngressVisibilityClusterLocal].Insert(gw.Namespace + "/" + gw.Name)
		}
		own = append(own, localOwn...)
	}
	if err := syncObjects(ctx, ing, r.gatewayOps(), own); err != nil {
		return nil, err
	}
	return bound, nil
}

// selectedGateways are the configured gateways that serve one KIngress.
type selectedGateways struct {
	external []config.Gateway
	local    []config.Gateway
}

// selectGateways picks, per visibility, the gateways for ing.
func selectGateways(cfg *config.Config, ing *v1alpha1.Ingress) *selectedGateways {
	return &selectedGateways{
		external: gatewaysFor(cfg.SSM.IngressGateways, ing),
		local:    gatewaysFor(cfg.SSM.LocalGateways, ing),
	}
}

// gatewaysFor follows config-istio's (and net-istio's) rule: the gateways
// whose label selector matches ing's labels, or, when none does, the one
// gateway without a selector. Selector gateways exist to take KIngresses
// away from the default gateway, so the two are never combined.
func gatewaysFor(gateways []config.Gateway, ing *v1alpha1.Ingress) []config.Gateway {
	var matched, defaults []config.Gateway
	for _, gw := range gateways {
		if gw.LabelSelector == nil {
			defaults = append(defaults, gw)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(gw.LabelSelector)
		if err == nil && sel.Matches(labels.Set(ing.Labels)) {
			matched = append(matched, gw)
		}
	}
	if len(matched) > 0 {
		return matched
	}
	return defaults
}

// qualifiedNames are the "namespace/name" of gateways.
func qualifiedNames(gateways []config.Gateway) sets.Set[string] {
	out := sets.New[string]()
	for _, gw := range gateways {
		out.Insert(gw.QualifiedName())
	}
	return out
}

// originSecrets reads the TLS Secrets ing's served hosts name (cluster-local
// ones only when cluster-local TLS is on), keyed by namespace/name, and
// tracks them so that a renewed certificate is copied again.
//
// The Secret informer holds only Secrets labelled
// networking.internal.knative.dev/certificate-uid (what Knative's certificate
// reconciler makes), so that the controller does not cache every Secret of
// the cluster. A Secret made by hand without that label is read directly;
// a change to it reaches the gateways at the KIngress's next reconcile, not
// at once — label it to have it watched.
func (r *Reconciler) originSecrets(ctx context.Context, ing *v1alpha1.Ingress, cfg *config.Config) (map[string]*corev1.Secret, error) {
	served := ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityExternalIP)
	if clusterLocalTLS(cfg) {
		served = append(served, ing.GetIngressTLSForVisibility(v1alpha1.IngressVisibilityClusterLocal)...)
	}
	out := make(map[string]*corev1.Secret)
	for _, tls := range served {
		if tls.SecretName == "" {
			continue
		}
		ref := tracker.Reference{APIVersion: "v1", Kind: "Secret", Namespace: tls.SecretNamespace, Name: tls.SecretName}
		if err := r.tracker.TrackReference(ref, ing); err != nil {
			return nil, fmt.Errorf("tracking Secret %s/%s: %w", tls.SecretNamespace, tls.SecretName, err)
		}
		secret, err := r.secretLister.Secrets(tls.SecretNamespace).Get(tls.SecretName)
		if apierrs.IsNotFound(err) {
			// The informer only holds Secrets labelled as Knative
			// certificates; a Secret a user made by hand is read directly.
			secret, err = r.kubeClient.CoreV1().Secrets(tls.SecretNamespace).Get(ctx, tls.SecretName, metav1.GetOptions{})
		}
		if err != nil {
			return nil, fmt.Errorf("getting TLS Secret %s/%s: %w", tls.SecretNamespace, tls.SecretName, err)
		}
		out[resources.SecretKey(secret.Namespace, secret.Name)] = secret
	}
	return out, nil
}
