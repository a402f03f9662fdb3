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

// Package webhook holds what SSM's admission webhook serves: defaulting and
// validation of the ssm.dev CRDs, validation of the ssm.dev/* annotations on
// Knative Serving objects, validation of config-ssm, the stamp on every new
// Revision of what its pods are born with (pkg/resolver, from its
// annotations, the selecting ServerlessPolicy and config-ssm), and the
// mutation of revision Deployments that applies that stamp: a sidecar-less
// revision loses its Istio sidecar and gets the SSM queue-proxy plugin, its
// podinfo volume and its workload certificate. cmd/webhook only wires these
// admission controllers into knative.dev/pkg's sharedmain.
package webhook
