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

package resources

import (
	"fmt"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
)

// Config is what a pooled proxy's bootstrap needs to know about the
// installation: where ssm-pool is and which identity its certificate carries.
type Config struct {
	// PoolServerHost is the DNS name of ssm-pool's Service.
	PoolServerHost string
	// PoolServerPort is ssm-pool's ADS port.
	PoolServerPort uint32
	// TrustDomain is the SPIFFE trust domain of the mesh's identities.
	TrustDomain string
	// SystemNamespace is where ssm-pool runs under its ServiceAccount.
	SystemNamespace string
}

// DefaultConfig is SSM's installation as config/ ships it: ssm-pool in
// knative-serving, trust domain cluster.local.
func DefaultConfig() Config {
	return Config{
		PoolServerHost:  ssm.PoolServerName + ".knative-serving.svc.cluster.local",
		PoolServerPort:  ssm.PoolServerPort,
		TrustDomain:     "cluster.local",
		SystemNamespace: "knative-serving",
	}
}

// PoolServerID is the SPIFFE ID ssm-pool's serving certificate must carry
// for a proxy to take configuration from it.
func (c Config) PoolServerID() string {
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", c.TrustDomain, c.SystemNamespace, ssm.PoolServerName)
}
