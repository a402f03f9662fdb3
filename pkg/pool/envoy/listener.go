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

package envoy

import (
	"fmt"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	router "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// Well-known extension names.
const (
	HTTPConnectionManagerFilter = "envoy.filters.network.http_connection_manager"
	RouterFilter                = "envoy.filters.http.router"
)

// HTTPConnectionManagerRDS is an HTTP connection manager whose route
// configuration comes over ADS by name.
func HTTPConnectionManagerRDS(statPrefix, routeConfigName string) (*hcm.HttpConnectionManager, error) {
	m, err := httpConnectionManager(statPrefix)
	if err != nil {
		return nil, err
	}
	m.RouteSpecifier = &hcm.HttpConnectionManager_Rds{
		Rds: &hcm.Rds{
			ConfigSource:    ADSConfigSource(),
			RouteConfigName: routeConfigName,
		},
	}
	return m, nil
}

// HTTPConnectionManagerInline is an HTTP connection manager with its route
// configuration inline: nothing to fetch, so the listener serves as soon as
// Envoy accepts it.
func HTTPConnectionManagerInline(statPrefix string, rc *route.RouteConfiguration) (*hcm.HttpConnectionManager, error) {
	m, err := httpConnectionManager(statPrefix)
	if err != nil {
		return nil, err
	}
	m.RouteSpecifier = &hcm.HttpConnectionManager_RouteConfig{RouteConfig: rc}
	return m, nil
}

// WebsocketUpgrades lets an HTTP connection manager pass websocket
// upgrades (HTTP/1.1 Upgrade) through to the upstream.
func WebsocketUpgrades() []*hcm.HttpConnectionManager_UpgradeConfig {
	return []*hcm.HttpConnectionManager_UpgradeConfig{{UpgradeType: "websocket"}}
}

func httpConnectionManager(statPrefix string) (*hcm.HttpConnectionManager, error) {
	// Envoy has required an explicit typed config on the router since 1.19.
	routerConfig, err := TypedConfig(&router.Router{})
	if err != nil {
		return nil, err
	}
	return &hcm.HttpConnectionManager{
		CodecType:  hcm.HttpConnectionManager_AUTO,
		StatPrefix: statPrefix,
		HttpFilters: []*hcm.HttpFilter{{
			Name:       RouterFilter,
			ConfigType: &hcm.HttpFilter_TypedConfig{TypedConfig: routerConfig},
		}},
	}, nil
}

// HTTPListener listens on ip:port with a single filter chain holding m.
func HTTPListener(name, ip string, port uint32, m *hcm.HttpConnectionManager) (*listener.Listener, error) {
	typed, err := TypedConfig(m)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", name, err)
	}
	return &listener.Listener{
		Name:    name,
		Address: SocketAddress(ip, port),
		FilterChains: []*listener.FilterChain{{
			Filters: []*listener.Filter{{
				Name:       HTTPConnectionManagerFilter,
				ConfigType: &listener.Filter_TypedConfig{TypedConfig: typed},
			}},
		}},
	}, nil
}
