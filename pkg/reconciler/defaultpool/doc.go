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

// Package defaultpool creates the ProxyPools that config-ssm's
// short-lived-proxy-pool and long-lived-proxy-pool name, in the system
// namespace, when none of that name exists there: a pool name that names no
// ProxyPool in a revision's own namespace refers to the system namespace's,
// and without it leases are refused and cold starts take the plain Knative
// path. The controller makes them, not config/, because a ProxyPool cannot
// be applied in the same kubectl apply as its CRD; once created a pool is
// its users' own, and this package never updates or deletes one.
package defaultpool
