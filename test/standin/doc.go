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

// Package standin is a TEST-ONLY stand-in for a pooled Envoy, for machines
// where no Envoy binary can run. It takes its listener, route, cluster and
// endpoints from ssm-pool over real ADS (pkg/pool/adsclient) and forwards
// HTTP the way those resources say: the route's header match (else the
// direct response), its timeout and connect-failure retries, round robin
// over the load assignment, and upstream mTLS that accepts only the
// cluster's SPIFFE ID. It understands exactly the subset of Envoy
// configuration pkg/pool/snapshot emits, refuses anything else, and never
// ships: nothing outside test/ imports it.
package standin
