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

package policy

// Sidecarless reports whether a revision with policy p runs without an
// Istio sidecar, its queue-proxy terminating mTLS itself. Full mTLS needs
// the sidecar, and a long-lived revision without a pooled proxy keeps it
// because nothing else would terminate mTLS in front of it. pkg/resolver
// applies it once, when a revision is admitted, and stamps the answer on
// the Revision for every component that reaches its pods.
func Sidecarless(p Policy) bool {
	return p.MTLSMode == MTLSLightweight && (p.Lifecycle == LifecycleShortLived || namedPool(p.ProxyPool))
}
