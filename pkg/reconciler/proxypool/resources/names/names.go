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

package names

import (
	"crypto/sha256"
	"encoding/hex"

	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/kmeta"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// Envoy resource names fixed by the bootstrap. ssm-pool's snapshots refer to
// the two secrets by name (an SdsSecretConfig without sds_config names a
// static bootstrap secret), so they are part of the pool's wire contract.
const (
	// EnvoyPoolServerCluster is the static cluster that reaches ssm-pool
	// over ADS.
	EnvoyPoolServerCluster = ssm.PoolServerName
	// EnvoyIdentitySecret is the static secret holding the proxy's
	// certificate and key, read from the mounted identity Secret.
	EnvoyIdentitySecret = "ssm-proxy-identity"
	// EnvoyTrustBundleSecret is the static validation context holding the
	// CA bundle, read from the mounted identity Secret.
	EnvoyTrustBundleSecret = "ssm-trust-bundle"
)

// EnvoyContainer is the name of the Envoy container in a pool's pods.
const EnvoyContainer = "envoy"

const prefix = "ssm-proxy-"

// Deployment names the Deployment of a pool's Envoy pods.
func Deployment(pool string) string { return kmeta.ChildName(base(pool), "") }

// Service names the ClusterIP Service in front of a pool's proxies.
func Service(pool string) string { return kmeta.ChildName(base(pool), "") }

// PodDisruptionBudget names the budget that limits voluntary evictions of a
// pool's proxies.
func PodDisruptionBudget(pool string) string { return kmeta.ChildName(base(pool), "") }

// BootstrapConfigMap names the ConfigMap holding a pool's Envoy bootstrap.
func BootstrapConfigMap(pool string) string { return kmeta.ChildName(base(pool), "-bootstrap") }

// IdentitySecret names the kubernetes.io/tls Secret (tls.crt, tls.key,
// ca.crt) a pool's pods mount as their identity. The reconciler only refers
// to it; the identity controller creates and rotates it under this name.
func IdentitySecret(pool string) string { return kmeta.ChildName(base(pool), "-identity") }

// base is "ssm-proxy-<pool>". A Service name must be a DNS-1035 label while a
// ProxyPool may be named like any object (dots, up to 253 characters), so a
// pool name that is not a DNS-1123 label is replaced by its hash;
// kmeta.ChildName then keeps every name within 63 characters.
func base(pool string) string {
	if len(validation.IsDNS1123Label(pool)) != 0 {
		sum := sha256.Sum256([]byte(pool))
		pool = hex.EncodeToString(sum[:4])
	}
	return prefix + pool
}
