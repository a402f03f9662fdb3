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

package main

import (
	"time"

	"github.com/serverless-mesh/ssm/pkg/activator"
)

// settings are the activator's environment: Knative's variables, with
// their names and defaults, then SSM's.
type settings struct {
	PodName string `split_words:"true" required:"true"`
	PodIP   string `split_words:"true" required:"true"`

	// Keep-alive pool of the proxy transport; larger clusters raise them.
	MaxIdleProxyConns        int `split_words:"true" default:"1000"`
	MaxIdleProxyConnsPerHost int `split_words:"true" default:"100"`

	// How the throttler probes a revision's pods for readiness.
	ProbeTimeout   time.Duration `split_words:"true" default:"300ms"`
	ProbeFrequency time.Duration `split_words:"true" default:"200ms"`

	// SSMPoolAddress is ssm-pool's lease API; empty means its Service in the
	// system namespace.
	SSMPoolAddress string `envconfig:"SSM_POOL_ADDRESS"`
	// SSMPoolServerName is the name ssm-pool's certificate is verified
	// against; empty means its Service's name.
	SSMPoolServerName string `envconfig:"SSM_POOL_SERVER_NAME"`
	// SSMIdentityDir holds the activator's mounted leaf Secret
	// (ssm-activator-tls). Without it the hook is off.
	SSMIdentityDir   string        `envconfig:"SSM_IDENTITY_DIR" default:"/var/run/ssm/identity"`
	SSMLeaseDeadline time.Duration `envconfig:"SSM_LEASE_DEADLINE" default:"500ms"`
	SSMRenewInterval time.Duration `envconfig:"SSM_RENEW_INTERVAL" default:"30s"`
	SSMIdlePeriod    time.Duration `envconfig:"SSM_IDLE_PERIOD" default:"60s"`
	SSMLeaseTTL      time.Duration `envconfig:"SSM_LEASE_TTL" default:"4m30s"`
}

// poolEndpoint is where and as whom ssm-pool is reached.
func (s settings) poolEndpoint(systemNamespace string) (address, serverName string) {
	address, serverName = s.SSMPoolAddress, s.SSMPoolServerName
	if address == "" {
		address = activator.DefaultPoolAddress(systemNamespace)
	}
	if serverName == "" {
		serverName = activator.PoolServerHost(systemNamespace)
	}
	return address, serverName
}

func (s settings) hookOptions() activator.Options {
	return activator.Options{
		LeaseDeadline: s.SSMLeaseDeadline,
		RenewInterval: s.SSMRenewInterval,
		IdlePeriod:    s.SSMIdlePeriod,
		LeaseTTL:      s.SSMLeaseTTL,
	}
}
