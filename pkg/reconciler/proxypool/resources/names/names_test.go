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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

type poolNames struct {
	Deployment, Service, PodDisruptionBudget, BootstrapConfigMap, IdentitySecret string
}

func namesOf(pool string) poolNames {
	return poolNames{
		Deployment:          Deployment(pool),
		Service:             Service(pool),
		PodDisruptionBudget: PodDisruptionBudget(pool),
		BootstrapConfigMap:  BootstrapConfigMap(pool),
		IdentitySecret:      IdentitySecret(pool),
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	// Hashes were computed outside Go (Python hashlib): sha256(pool)[:8 hex]
	// for a pool name that is not a DNS label, and kmeta.ChildName's
	// md5(parent) for names that would pass 63 characters.
	tests := []struct {
		pool string
		want poolNames
	}{{
		pool: "default",
		want: poolNames{
			Deployment:          "ssm-proxy-default",
			Service:             "ssm-proxy-default",
			PodDisruptionBudget: "ssm-proxy-default",
			BootstrapConfigMap:  "ssm-proxy-default-bootstrap",
			IdentitySecret:      "ssm-proxy-default-identity",
		},
	}, {
		pool: "team.a",
		want: poolNames{
			Deployment:          "ssm-proxy-dc627329",
			Service:             "ssm-proxy-dc627329",
			PodDisruptionBudget: "ssm-proxy-dc627329",
			BootstrapConfigMap:  "ssm-proxy-dc627329-bootstrap",
			IdentitySecret:      "ssm-proxy-dc627329-identity",
		},
	}, {
		pool: strings.Repeat("a", 53),
		want: poolNames{
			Deployment:          "ssm-proxy-" + strings.Repeat("a", 53),
			Service:             "ssm-proxy-" + strings.Repeat("a", 53),
			PodDisruptionBudget: "ssm-proxy-" + strings.Repeat("a", 53),
			BootstrapConfigMap:  "ssm-proxy-aaaaaaaaaaa00dd07156ddf4d650e41c823d9cd7733-bootstrap",
			IdentitySecret:      "ssm-proxy-aaaaaaaaaaaa00dd07156ddf4d650e41c823d9cd7733-identity",
		},
	}, {
		pool: strings.Repeat("b", 63),
		want: poolNames{
			Deployment:          "ssm-proxy-bbbbbbbbbbbbbbbbbbbbb904a4d3a00e7d5534dd845d40c1a2770",
			Service:             "ssm-proxy-bbbbbbbbbbbbbbbbbbbbb904a4d3a00e7d5534dd845d40c1a2770",
			PodDisruptionBudget: "ssm-proxy-bbbbbbbbbbbbbbbbbbbbb904a4d3a00e7d5534dd845d40c1a2770",
			BootstrapConfigMap:  "ssm-proxy-bbbbbbbbbbb904a4d3a00e7d5534dd845d40c1a2770-bootstrap",
			IdentitySecret:      "ssm-proxy-bbbbbbbbbbbb904a4d3a00e7d5534dd845d40c1a2770-identity",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.pool, func(t *testing.T) {
			t.Parallel()
			got := namesOf(tc.pool)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			// A Service name is the strictest kind of name: a DNS-1035 label.
			for _, n := range []string{got.Deployment, got.Service, got.PodDisruptionBudget, got.BootstrapConfigMap, got.IdentitySecret} {
				if errs := validation.IsDNS1035Label(n); len(errs) != 0 {
					t.Errorf("%q is not a DNS-1035 label: %v", n, errs)
				}
			}
		})
	}
}
