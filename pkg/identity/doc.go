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

// Package identity is SSM's mesh identity, shared by every component that
// speaks mTLS (ssm-pool, pooled proxies, the activator hook, the queue-proxy
// plugin): SSM's own small CA, the SPIFFE IDs
// (spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>) it puts in
// leaf certificates, the Secrets the controller keeps them in, and the TLS
// configs and gRPC interceptors that verify and authorise each peer.
//
// The CA Secret ("ssm-ca" in namespace "ssm-ca", keys ca.crt and ca.key) is
// read only by the controller. Leaves carry a trust bundle, so the CA is
// rotated without an outage (rotation.go): a successor is trusted before it
// signs, and its predecessor until every leaf it signed has expired. A
// corrupt CA Secret is never replaced silently: delete it, and the
// controller creates a new CA and re-issues every leaf Secret.
package identity
