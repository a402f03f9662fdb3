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

// Command webhook is SSM's admission webhook: it defaults and validates
// ServerlessPolicy and ProxyPool, validates the ssm.dev/* annotations of
// Knative Services, Configurations and Revisions, validates config-ssm, and
// adjusts the pod templates of revision Deployments to their SSM policy.
package main

import (
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/signals"
	"knative.dev/pkg/webhook"
	"knative.dev/pkg/webhook/certificates"

	ssmwebhook "github.com/serverless-mesh/ssm/pkg/webhook"
)

func main() {
	ctx := webhook.WithOptions(signals.NewContext(), webhook.Options{
		ServiceName: ssmwebhook.ServiceName,
		Port:        webhook.PortFromEnv(8443),
		SecretName:  ssmwebhook.SecretName,
	})

	// The Deployment probes the webhook's own HTTPS port: knative.dev/pkg's
	// drainer answers kubelet probes there only while the server can serve
	// TLS, and fails them as soon as shutdown starts, which a separate
	// sharedmain probe server would not.
	ctx = sharedmain.WithHealthProbesDisabled(ctx)

	sharedmain.MainWithContext(ctx, ssmwebhook.ServiceName,
		certificates.NewController,
		ssmwebhook.NewDefaultingAdmissionController,
		ssmwebhook.NewValidationAdmissionController,
		ssmwebhook.NewConfigValidationController,
		ssmwebhook.NewRevisionController,
		ssmwebhook.NewRevisionDeploymentController,
	)
}
