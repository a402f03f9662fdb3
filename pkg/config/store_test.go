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
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	netconfig "knative.dev/networking/pkg/config"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/configmap/informer"
	logtesting "knative.dev/pkg/logging/testing"
)

func TestFromContextEmpty(t *testing.T) {
	t.Parallel()
	if got := FromContext(context.Background()); got != nil {
		t.Errorf("FromContext(empty) = %+v, want nil", got)
	}
}

func TestStoreToContext(t *testing.T) {
	t.Parallel()
	store := NewStore(logtesting.TestLogger(t))
	store.OnConfigChanged(configMap(SSMConfigName, map[string]string{"min-samples": "7"}))
	store.OnConfigChanged(configMap(IstioConfigName, map[string]string{"local-gateways": oneLocalGateway}))
	store.OnConfigChanged(configMap(netconfig.ConfigMapName, map[string]string{"http-protocol": "Redirected"}))

	got := FromContext(store.ToContext(context.Background()))

	wantSSM := defaultSSMLiteral()
	wantSSM.Policy.MinSamples = 7
	wantSSM.LocalGateways = []Gateway{edgeInside()}
	wantSSM.GatewaysFromIstioConfig = true
	if diff := cmp.Diff(wantSSM, got.SSM); diff != "" {
		t.Errorf("SSM (-want, +got):\n%s", diff)
	}
	if got.Network == nil || got.Network.HTTPProtocol != netconfig.HTTPRedirected {
		t.Errorf("Network = %+v, want HTTPProtocol %q", got.Network, netconfig.HTTPRedirected)
	}

	// ToContext/FromContext carry the very value given.
	cfg := &Config{SSM: wantSSM}
	if got := FromContext(ToContext(context.Background(), cfg)); got != cfg {
		t.Errorf("FromContext(ToContext(cfg)) = %p, want %p", got, cfg)
	}
}

func TestStoreLoadIsACopy(t *testing.T) {
	t.Parallel()
	store := NewStore(logtesting.TestLogger(t))
	store.OnConfigChanged(configMap(SSMConfigName, map[string]string{"external-gateways": twoExternalGateways}))
	store.OnConfigChanged(configMap(netconfig.ConfigMapName, nil))

	first := store.Load()
	first.SSM.IngressGateways[1].LabelSelector.MatchLabels["audience"] = "mutated"
	first.SSM.IngressGateways[0].Name = "mutated"
	first.SSM.Policy.MinSamples = 99
	first.Network.HTTPProtocol = netconfig.HTTPRedirected

	second := store.Load()
	wantSSM := defaultSSMLiteral()
	wantSSM.IngressGateways = []Gateway{edgePublic(), edgePartners()}
	if diff := cmp.Diff(wantSSM, second.SSM); diff != "" {
		t.Errorf("SSM after mutating an earlier Load (-want, +got):\n%s", diff)
	}
	if second.Network.HTTPProtocol == netconfig.HTTPRedirected {
		t.Error("Network changed by mutating an earlier Load")
	}
}

func TestStoreKeepsLastGoodConfig(t *testing.T) {
	t.Parallel()
	store := NewStore(logtesting.TestLogger(t))
	store.OnConfigChanged(configMap(SSMConfigName, map[string]string{"min-samples": "7"}))
	store.OnConfigChanged(configMap(IstioConfigName, map[string]string{"local-gateways": oneLocalGateway}))
	// Bad updates are logged and dropped.
	store.OnConfigChanged(configMap(SSMConfigName, map[string]string{"min-samples": "zero"}))
	store.OnConfigChanged(configMap(IstioConfigName, map[string]string{"local-gateways": "[{}]"}))

	wantSSM := defaultSSMLiteral()
	wantSSM.Policy.MinSamples = 7
	wantSSM.LocalGateways = []Gateway{edgeInside()}
	wantSSM.GatewaysFromIstioConfig = true
	if diff := cmp.Diff(wantSSM, store.Load().SSM); diff != "" {
		t.Errorf("SSM (-want, +got):\n%s", diff)
	}
}

func TestStoreLoadBeforeAnyConfigMap(t *testing.T) {
	t.Parallel()
	got := NewStore(logtesting.TestLogger(t)).Load()
	if diff := cmp.Diff(defaultSSMLiteral(), got.SSM); diff != "" {
		t.Errorf("SSM (-want, +got):\n%s", diff)
	}
	if got.Network == nil || got.Network.HTTPProtocol != netconfig.HTTPEnabled {
		t.Errorf("Network = %+v, want knative.dev/networking's defaults", got.Network)
	}
}

// TestStoreWithoutDefaultingWatcher: a watcher that cannot default optional
// maps never delivers config-istio; Load then treats it as absent.
func TestStoreWithoutDefaultingWatcher(t *testing.T) {
	t.Parallel()
	store := NewStore(logtesting.TestLogger(t))
	w := &configmap.ManualWatcher{Namespace: "knative-serving"}
	store.WatchConfigs(w)
	w.OnChange(configMap(SSMConfigName, map[string]string{"readiness-mode": "probe"}))
	w.OnChange(configMap(netconfig.ConfigMapName, nil))

	got := store.Load().SSM
	if diff := cmp.Diff(defaultSSMLiteral(), got); diff != "" {
		t.Errorf("SSM (-want, +got):\n%s", diff)
	}

	w.OnChange(configMap(IstioConfigName, map[string]string{"external-gateways": oneLocalGateway}))
	want := defaultSSMLiteral()
	want.IngressGateways = []Gateway{edgeInside()}
	want.GatewaysFromIstioConfig = true
	if diff := cmp.Diff(want, store.Load().SSM); diff != "" {
		t.Errorf("SSM after config-istio appeared (-want, +got):\n%s", diff)
	}
}

// TestStoreWithInformedWatcher runs knative.dev/pkg's real watcher over a
// fake API server holding no config-istio: Start must not wait for it, and
// when it appears, the callbacks receive the new combined *SSM.
func TestStoreWithInformedWatcher(t *testing.T) {
	t.Parallel()
	kc := fake.NewSimpleClientset(
		configMap(SSMConfigName, map[string]string{"min-samples": "3"}),
		configMap(netconfig.ConfigMapName, nil),
	)
	type stored struct {
		name  string
		value interface{}
	}
	changes := make(chan stored, 10)
	store := NewStore(logtesting.TestLogger(t), func(name string, value interface{}) {
		changes <- stored{name, value}
	})
	w := informer.NewInformedWatcher(kc, "knative-serving")
	store.WatchConfigs(w)
	stop := make(chan struct{})
	defer close(stop)
	if err := w.Start(stop); err != nil {
		t.Fatal("Start() =", err)
	}

	want := defaultSSMLiteral()
	want.Policy.MinSamples = 3
	if diff := cmp.Diff(want, store.Load().SSM); diff != "" {
		t.Errorf("SSM without config-istio (-want, +got):\n%s", diff)
	}

	istio := configMap(IstioConfigName, map[string]string{"gateway.edge.public": "public-gw.edge.svc.cluster.local"})
	if _, err := kc.CoreV1().ConfigMaps("knative-serving").Create(context.Background(), istio, metav1.CreateOptions{}); err != nil {
		t.Fatal("Create(config-istio) =", err)
	}

	want.IngressGateways = []Gateway{edgePublic()}
	want.GatewaysFromIstioConfig = true
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-changes:
			if got.name != IstioConfigName {
				continue
			}
			ssm, ok := got.value.(*SSM)
			if !ok {
				t.Fatalf("onAfterStore value for %s = %T, want *SSM", got.name, got.value)
			}
			if !ssm.GatewaysFromIstioConfig {
				continue // the default (empty) config-istio delivered by Start
			}
			if diff := cmp.Diff(want, ssm); diff != "" {
				t.Errorf("onAfterStore SSM (-want, +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, store.Load().SSM); diff != "" {
				t.Errorf("Load().SSM (-want, +got):\n%s", diff)
			}
			return
		case <-deadline:
			t.Fatal("config-istio's creation was never observed")
		}
	}
}
