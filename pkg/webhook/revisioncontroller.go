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
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	pkgreconciler "knative.dev/pkg/reconciler"
	"knative.dev/pkg/webhook"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	knserviceinformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/service"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	serverlesspolicyinformer "github.com/serverless-mesh/ssm/pkg/client/injection/informers/ssm/v1alpha1/serverlesspolicy"
	"github.com/serverless-mesh/ssm/pkg/config"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

const (
	// RevisionWebhookName is the MutatingWebhookConfiguration that stamps
	// SSM's decision on every new Knative Revision. Its rules are in
	// config/600-webhook-configurations.yaml; the reconciler fills in only
	// the CA bundle and the path.
	RevisionWebhookName = "revisions.webhook.ssm.dev"
	// RevisionPath is the HTTPS path that webhook is served on.
	RevisionPath = "/revisions"
)

// revisionController serves RevisionPath: on CREATE of a Revision it
// resolves, with pkg/resolver and every input that exists then (annotations,
// the selecting ServerlessPolicy, config-ssm), what the revision's pods are
// born with, and stamps it on the Revision before Knative makes its
// Deployment. Every component that later needs the answer reads the stamp.
type revisionController struct {
	*mutatingWebhook
	lookup resolver.Lookup
	// config returns config-ssm's policy defaults and whether sidecar-less
	// revisions are switched on.
	config func() (policy.Defaults, bool)
}

var (
	_ controller.Reconciler       = (*revisionController)(nil)
	_ pkgreconciler.LeaderAware   = (*revisionController)(nil)
	_ webhook.AdmissionController = (*revisionController)(nil)
)

// NewRevisionController stamps new Revisions (see revisionController).
// config-ssm comes through cmw; until it has been read (and when it is
// absent) the built-in defaults apply, with sidecar-less revisions off. It
// is not a stateless admission controller: knative.dev/pkg serves it only
// once the ServerlessPolicy and Service informers have synced, so that a
// revision governed by a policy is never admitted as if it had none.
func NewRevisionController(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
	logger := logging.FromContext(ctx)
	store := configmap.NewUntypedStore("ssm-webhook-revisions", logger, configmap.Constructors{
		config.SSMConfigName: config.NewSSMFromConfigMap,
	})
	watchSSMConfig(cmw, store)

	c := &revisionController{
		mutatingWebhook: newMutatingWebhook(ctx, RevisionWebhookName, RevisionPath),
		lookup: resolver.Lookup{
			Services: knserviceinformer.Get(ctx).Lister(),
			Policies: serverlesspolicyinformer.Get(ctx).Lister(),
		},
		config: func() (policy.Defaults, bool) {
			if cfg, ok := store.UntypedLoad(config.SSMConfigName).(*config.SSM); ok && cfg != nil {
				return cfg.Policy, cfg.SidecarlessRevisions
			}
			return policy.NewDefaults(), false
		},
	}
	return c.start(ctx, c, "RevisionWebhook")
}

// Admit implements webhook.AdmissionController. It always allows (the
// webhook's failurePolicy is Ignore too): SSM must never stop Knative from
// creating a revision. A revision admitted without the stamp keeps its
// sidecar and is never leased (resolver.StampedPods), the answer that is
// safe without SSM.
func (c *revisionController) Admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Operation != admissionv1.Create || req.Kind.Group != servingv1.SchemeGroupVersion.Group ||
		req.Kind.Version != servingv1.SchemeGroupVersion.Version || req.Kind.Kind != "Revision" {
		return allowed
	}
	var rev servingv1.Revision
	if err := json.Unmarshal(req.Object.Raw, &rev); err != nil {
		allowed.Warnings = []string{fmt.Sprintf("SSM left Revision %s/%s unstamped: decoding it: %v", req.Namespace, req.Name, err)}
		return allowed
	}
	if rev.Namespace == "" {
		rev.Namespace = req.Namespace
	}
	pods, warning := c.decide(&rev)
	if warning != "" {
		allowed.Warnings = []string{oneLine(warning)}
	}
	patch, err := json.Marshal(stampOps(rev.Annotations, pods.Stamp()))
	if err != nil {
		allowed.Warnings = append(allowed.Warnings, fmt.Sprintf("SSM left Revision %s/%s unstamped: %v", rev.Namespace, rev.Name, err))
		return allowed
	}
	logging.FromContext(ctx).Debugf("Revision %s/%s: patch %s", rev.Namespace, rev.Name, patch)
	pt := admissionv1.PatchTypeJSONPatch
	allowed.Patch, allowed.PatchType = patch, &pt
	return allowed
}

// decide resolves what rev's pods are born with. Input that does not
// resolve keeps the sidecar, with a warning naming the problem; the
// validation webhook and the KIngress status report it too.
func (c *revisionController) decide(rev *servingv1.Revision) (resolver.Pods, string) {
	selected, err := c.lookup.PolicyFor(rev.Namespace, rev.Labels)
	if err != nil {
		return resolver.Pods{}, fmt.Sprintf("SSM kept the Istio sidecar of Revision %s/%s: %v", rev.Namespace, rev.Name, err)
	}
	d, sidecarless := c.config()
	res, err := resolver.Resolve(resolver.Inputs{
		Annotations:          rev.Annotations,
		Policy:               selected,
		Defaults:             d,
		SidecarlessRevisions: sidecarless,
		RevisionTimeout:      resolver.RevisionTimeout(rev),
	})
	if err != nil {
		return resolver.Pods{}, fmt.Sprintf("SSM kept the Istio sidecar of Revision %s/%s: its policy does not resolve: %v", rev.Namespace, rev.Name, err)
	}
	return res.Pods, ""
}

// stampOps sets want on a Revision's annotations and removes a stamp key
// want leaves out (one copied from a template by a user), in key order.
func stampOps(current, want map[string]string) []patchOp {
	if current == nil {
		return []patchOp{{Op: "add", Path: "/metadata/annotations", Value: want}}
	}
	var ops []patchOp
	for _, k := range []string{ssm.ResolvedPodsAnnotationKey, ssm.ResolvedProxyPoolAnnotationKey} {
		path := "/metadata/annotations/" + escapePointer(k)
		v, ok := want[k]
		_, had := current[k]
		switch {
		case ok:
			ops = append(ops, patchOp{Op: "add", Path: path, Value: v})
		case had:
			ops = append(ops, patchOp{Op: "remove", Path: path})
		}
	}
	return ops
}
