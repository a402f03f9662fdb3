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

package config

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	netconfig "knative.dev/networking/pkg/config"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/system"
)

type cfgKey struct{}

// FromContext returns the Config ToContext stored in ctx, or nil.
func FromContext(ctx context.Context) *Config {
	cfg, _ := ctx.Value(cfgKey{}).(*Config)
	return cfg
}

// ToContext returns a context carrying cfg.
func ToContext(ctx context.Context, cfg *Config) context.Context {
	return context.WithValue(ctx, cfgKey{}, cfg)
}

// ssmEntry is what the store keeps for config-ssm: the parsed map plus what
// it said about gateways, which Load weighs against config-istio.
type ssmEntry struct {
	ssm      *SSM
	gateways gatewaySet
}

func newSSMEntry(cm *corev1.ConfigMap) (*ssmEntry, error) {
	ssm, gateways, err := parseSSM(cm)
	if err != nil {
		return nil, err
	}
	return &ssmEntry{ssm: ssm, gateways: gateways}, nil
}

// newIstioEntry keeps config-istio's gateway keys. An invalid config-istio is
// refused even when config-ssm names its own gateways, as net-istio would
// refuse it: the store then keeps the last good version.
func newIstioEntry(cm *corev1.ConfigMap) (*gatewaySet, error) {
	set, err := parseGateways(cm, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IstioConfigName, err)
	}
	return &set, nil
}

// Store keeps the latest good config-ssm, config-istio and config-network.
// Each ConfigMap is parsed on its own as it changes; Load combines them,
// because gateway precedence depends on config-ssm and config-istio together.
type Store struct {
	*configmap.UntypedStore
}

// NewStore returns a Store. logger must not be nil. onAfterStore callbacks
// run after a ConfigMap was parsed and stored. For config-ssm and config-istio
// they get the combined *SSM that Load now returns, since a change to either
// can change it (so configmap.TypeFilter(&SSM{}) sees both); for
// config-network they get the *netconfig.Config.
func NewStore(logger configmap.Logger, onAfterStore ...func(name string, value interface{})) *Store {
	s := &Store{}
	var notify []func(string, interface{})
	if len(onAfterStore) > 0 {
		notify = append(notify, func(name string, value interface{}) {
			if name == SSMConfigName || name == IstioConfigName {
				value = s.Load().SSM
			}
			for _, f := range onAfterStore {
				f(name, value)
			}
		})
	}
	s.UntypedStore = configmap.NewUntypedStore(
		"ssm-ingress",
		logger,
		configmap.Constructors{
			SSMConfigName:           newSSMEntry,
			IstioConfigName:         newIstioEntry,
			netconfig.ConfigMapName: netconfig.NewConfigFromConfigMap,
		},
		notify...,
	)
	return s
}

// WatchConfigs registers the store with w. config-istio is optional: when w
// can supply defaults (knative.dev/pkg's InformedWatcher can), an absent
// config-istio is observed as an empty one, and deleting it reverts to empty.
// Watchers without defaults must deliver config-istio themselves, or Load
// treats it as absent until they do.
func (s *Store) WatchConfigs(w configmap.Watcher) {
	w.Watch(SSMConfigName, s.OnConfigChanged)
	w.Watch(netconfig.ConfigMapName, s.OnConfigChanged)
	if dw, ok := w.(configmap.DefaultingWatcher); ok {
		dw.WatchWithDefault(corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: IstioConfigName, Namespace: system.Namespace()},
		}, s.OnConfigChanged)
		return
	}
	w.Watch(IstioConfigName, s.OnConfigChanged)
}

// ToContext returns a context carrying the current Config.
func (s *Store) ToContext(ctx context.Context) context.Context {
	return ToContext(ctx, s.Load())
}

// Load returns the current Config, a copy the caller may change. A ConfigMap
// not yet observed counts as empty (its defaults); knative.dev/pkg's watchers
// deliver every required map before a controller starts, so only a
// not-yet-started or test store sees that.
func (s *Store) Load() *Config {
	entry, _ := s.UntypedLoad(SSMConfigName).(*ssmEntry)
	if entry == nil {
		entry = &ssmEntry{ssm: defaultSSM()}
	}
	var istio gatewaySet
	if set, _ := s.UntypedLoad(IstioConfigName).(*gatewaySet); set != nil {
		istio = *set
	}

	ssm := entry.ssm.DeepCopy()
	ingress, local, fromIstio := combineGateways(entry.gateways, istio)
	ssm.IngressGateways, ssm.LocalGateways = copyGateways(ingress), copyGateways(local)
	ssm.GatewaysFromIstioConfig = fromIstio

	network, _ := s.UntypedLoad(netconfig.ConfigMapName).(*netconfig.Config)
	if network == nil {
		// Parsing no data cannot fail: it yields knative.dev/networking's defaults.
		network, _ = netconfig.NewConfigFromConfigMap(nil)
	}
	return &Config{SSM: ssm, Network: network.DeepCopy()}
}
