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

package snapshot

import (
	"fmt"
	"net/http"

	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
)

const (
	// HealthListenerName names the listener (and its inline route
	// configuration) that answers the proxy's readiness probe. It cannot be
	// a ResourceName, which always starts with "ssm/".
	HealthListenerName = "ssm-health"
	// ReadyPath is answered 200 on HealthPort. It is served from the base
	// configuration, so a proxy is Ready only once ssm-pool configured it.
	ReadyPath = "/ready"

	anyAddress = "0.0.0.0"
)

// Base is a warm proxy's configuration: only the health listener, nothing of
// any revision. Invalid Options make Snapshot fail.
func Base(o Options) Resources {
	if err := validateOptions(o); err != nil {
		return Resources{err: err}
	}
	health, err := healthListener(o)
	if err != nil {
		return Resources{err: err}
	}
	listeners, err := newTypedResources([]namedResource{health})
	if err != nil {
		return Resources{err: err}
	}
	return Resources{listeners: listeners}
}

func healthListener(o Options) (namedResource, error) {
	rc := envoy.RouteConfiguration(HealthListenerName,
		envoy.VirtualHost(HealthListenerName, []string{"*"},
			envoy.DirectResponseRoute("ready", ReadyPath, http.StatusOK)))
	m, err := envoy.HTTPConnectionManagerInline(HealthListenerName, rc)
	if err != nil {
		return namedResource{}, fmt.Errorf("health listener: %w", err)
	}
	l, err := envoy.HTTPListener(HealthListenerName, anyAddress, o.HealthPort, m)
	if err != nil {
		return namedResource{}, fmt.Errorf("health listener: %w", err)
	}
	return namedResource{name: l.GetName(), msg: l}, nil
}
