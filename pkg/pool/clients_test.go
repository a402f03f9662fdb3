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

package pool

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/serverless-mesh/ssm/pkg/pool/adsclient"
)

// held is what a client holds: the sorted names of each type.
type held map[string][]string

func holding(c *adsclient.Client) held {
	out := held{}
	for _, typeURL := range allTypes() {
		if names := c.Names(typeURL); len(names) > 0 {
			out[typeURL] = names
		}
	}
	return out
}

// baseHeld is what a warm proxy holds.
func baseHeld() held { return held{ldsURL: {"ssm-health"}} }

// revisionHeld is what a proxy leased to revision name holds.
func revisionHeld(name string) held {
	r := "ssm/" + testPool.Namespace + "/" + name
	return held{cdsURL: {r}, edsURL: {r}, ldsURL: {"ssm-health", r}, rdsURL: {r}}
}

// waitHolding waits until c holds exactly want.
func waitHolding(t testing.TB, c *adsclient.Client, want held) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.WaitFor(ctx, func(c *adsclient.Client) bool { return cmp.Equal(holding(c), want) }); err != nil {
		t.Fatalf("%v; holds %v, want %v", err, holding(c), want)
	}
}

// updates drains what c has published so far.
func updates(c *adsclient.Client) []adsclient.Update {
	var out []adsclient.Update
	for range adsclient.DefaultUpdatesBuffer {
		select {
		case u, ok := <-c.Updates():
			if !ok {
				return out
			}
			out = append(out, u)
		default:
			return out
		}
	}
	return out
}

// nackRevisions rejects every response carrying a revision's resource.
func nackRevisions(_ string, resp *discovery.DiscoveryResponse) error {
	for _, r := range resp.GetResources() {
		if strings.Contains(string(r.GetValue()), "ssm/") {
			return errors.New("revision resources are not accepted here")
		}
	}
	return nil
}

// nackAll rejects everything.
func nackAll(string, *discovery.DiscoveryResponse) error { return errors.New("rejecting everything") }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// metricValue reads a counter or gauge (one series) without testutil,
// whose dependencies this module does not carry.
func metricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatalf("reading metric: %v", err)
	}
	switch {
	case out.Counter != nil:
		return out.GetCounter().GetValue()
	case out.Gauge != nil:
		return out.GetGauge().GetValue()
	}
	t.Fatalf("metric %v is neither a counter nor a gauge", m.Desc())
	return 0
}
