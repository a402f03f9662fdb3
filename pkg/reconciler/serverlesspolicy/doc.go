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

// Package serverlesspolicy reconciles ServerlessPolicy objects: it resolves a
// policy's spec against config-ssm's defaults, finds the Knative Services
// and Revisions it governs, and reports both, and any conflict with another
// policy, on its status. The Istio objects themselves are written by the
// KIngress reconciler, which reads the same policies.
package serverlesspolicy
