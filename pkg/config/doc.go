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

// Package config parses config-ssm, SSM's own ConfigMap, which every SSM
// component reads (the controller, the webhook, ssm-pool, the activator hook),
// together with the ConfigMaps only the KIngress reconciler needs (net-istio's
// config-istio and knative.dev/networking's config-network), and keeps the
// latest good version of each in a Store, so that every reconcile sees one
// consistent, combined Config.
package config
