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

// Package leaseroute is the contract that lets a sidecar-less revision's
// traffic reach its leased proxies without a VirtualService change per lease.
// The KIngress reconciler routes the revision's splits to a per-revision
// Service without a selector. ssm-pool publishes, as that Service's
// endpoints, the pooled proxies that hold the revision's configuration and
// can serve it. SSM's controller publishes Knative's activator as its
// endpoints whenever no proxy is published, so the Service is never empty.
package leaseroute
