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

// Package activator is SSM's hook in Knative's activator. It wraps the
// activator's throttler: on a revision's cold start it asks ssm-pool for a
// leased proxy in the background, sends later requests through that proxy
// once it is held, and falls back to Knative's own path whenever the pool is
// down, slow, exhausted or the proxy refuses. It also times the phases of
// every cold start (arrival, lease granted, first pod ready, first byte).
// Requests for sidecar-less revisions, whose pods take only mTLS, go to the
// pod's queue-proxy mTLS port with the activator's identity.
package activator
