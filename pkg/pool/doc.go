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

// Package pool is ssm-pool's lease manager and xDS server. Every pooled Envoy
// holds one ADS stream to one replica; the replica gives it the base
// configuration (only a health listener) and calls it warm once it has ACKed
// that. Lease(revision) hands a warm idle proxy the revision's listener,
// route, cluster and endpoints and answers once the proxy has ACKed them;
// leases end after an idle timeout, and move when a proxy NACKs or leaves.
//
// Every replica of ssm-pool serves, and they share no state. They stay
// consistent because a proxy belongs to exactly one replica, the one holding
// its ADS stream: only that replica sets its configuration, leases it and
// counts it in Stats (the ProxyPool reconciler sums Stats over replicas).
// A lease is therefore a fact about one proxy and one replica, and the
// worst case of two replicas both leasing for one revision is two proxies
// each holding only that revision's configuration: correct, just not
// minimal. When an Envoy reconnects to another replica it is a new proxy
// there, and the old replica re-places the leases it held.
package pool
