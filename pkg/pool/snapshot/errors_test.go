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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

func TestForRevisionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*revision.Config)
		// want are substrings of the error, in order.
		want []string
	}{{
		name:   "empty key",
		modify: func(c *revision.Config) { c.Key = revision.Key{} },
		want:   []string{`revision "/"`, "Key.Namespace", "Key.Name"},
	}, {
		name:   "slash in name",
		modify: func(c *revision.Config) { c.Key.Name = "hello/../other" },
		want:   []string{`revision "fn-ns/hello/../other"`, `Key.Name: "hello/../other"`},
	}, {
		name:   "upper-case namespace",
		modify: func(c *revision.Config) { c.Key.Namespace = "FN" },
		want:   []string{`revision "FN/hello-00001"`, `Key.Namespace: "FN"`},
	}, {
		name:   "bad service account",
		modify: func(c *revision.Config) { c.ServiceAccount = "sa/../admin" },
		want:   []string{`revision "fn-ns/hello-00001"`, `ServiceAccount: "sa/../admin"`},
	}, {
		name:   "endpoint IP out of range",
		modify: func(c *revision.Config) { c.Endpoints[1].IP = "10.0.0.300" },
		want:   []string{`revision "fn-ns/hello-00001"`, "Endpoints[1].IP", "10.0.0.300"},
	}, {
		name:   "endpoint host name",
		modify: func(c *revision.Config) { c.Endpoints[0].IP = "pod.local" },
		want:   []string{"Endpoints[0].IP", "pod.local"},
	}, {
		name:   "endpoint unspecified IP",
		modify: func(c *revision.Config) { c.Endpoints[0].IP = "0.0.0.0" },
		want:   []string{`Endpoints[0].IP: "0.0.0.0" is not a pod address`},
	}, {
		name:   "endpoint port 0",
		modify: func(c *revision.Config) { c.Endpoints[1].Port = 0 },
		want:   []string{"Endpoints[1].Port: 0 is not a port"},
	}, {
		name:   "endpoint port above 65535",
		modify: func(c *revision.Config) { c.Endpoints[0].Port = 70000 },
		want:   []string{"Endpoints[0].Port: 70000 is not a port"},
	}, {
		name:   "unknown retry condition",
		modify: func(c *revision.Config) { c.Policy.RetryOn = "connect-failure,5xxx" },
		want:   []string{"Policy.RetryOn", `retry_on condition "5xxx" is not one of 5xx, gateway-error`},
	}, {
		name:   "status code as retry condition",
		modify: func(c *revision.Config) { c.Policy.RetryOn = "503" },
		want:   []string{"Policy.RetryOn", `"503"`},
	}, {
		name:   "retriable-status-codes without codes",
		modify: func(c *revision.Config) { c.Policy.RetryOn = "retriable-status-codes" },
		want:   []string{"Policy.RetryOn", `"retriable-status-codes"`},
	}, {
		name:   "retries without conditions",
		modify: func(c *revision.Config) { c.Policy.RetryOn = "" },
		want:   []string{"Policy.RetryOn: retry_on is empty"},
	}, {
		name:   "negative retries",
		modify: func(c *revision.Config) { c.Policy.Retries = -1 },
		want:   []string{"Policy.Retries: -1 is negative"},
	}, {
		name:   "negative timeout",
		modify: func(c *revision.Config) { c.Policy.Timeout = -time.Second },
		want:   []string{`revision "fn-ns/hello-00001"`, "Policy.Timeout: -1s is negative"},
	}, {
		name:   "negative per-try timeout",
		modify: func(c *revision.Config) { c.Policy.PerTryTimeout = -time.Millisecond },
		want:   []string{"Policy.PerTryTimeout: -1ms is negative"},
	}, {
		name:   "negative idle timeout",
		modify: func(c *revision.Config) { c.Policy.ConnectionPool.IdleTimeout = -time.Minute },
		want:   []string{"Policy.ConnectionPool.IdleTimeout: -1m0s is negative"},
	}, {
		name:   "negative max connections",
		modify: func(c *revision.Config) { c.Policy.ConnectionPool.MaxConnections = -5 },
		want:   []string{"Policy.ConnectionPool.MaxConnections: -5 is negative"},
	}, {
		name:   "negative ejection interval",
		modify: func(c *revision.Config) { c.Policy.OutlierDetection.Interval = -time.Second },
		want:   []string{"Policy.OutlierDetection.Interval: -1s is negative"},
	}, {
		name:   "negative base ejection time",
		modify: func(c *revision.Config) { c.Policy.OutlierDetection.BaseEjectionTime = -time.Second },
		want:   []string{"Policy.OutlierDetection.BaseEjectionTime: -1s is negative"},
	}, {
		name:   "ejection percent above 100",
		modify: func(c *revision.Config) { c.Policy.OutlierDetection.MaxEjectionPercent = 101 },
		want:   []string{"Policy.OutlierDetection.MaxEjectionPercent: 101 is above 100"},
	}, {
		name: "several fields at once",
		modify: func(c *revision.Config) {
			c.Policy.Timeout = -time.Second
			c.Endpoints[0].Port = 0
		},
		want: []string{"Policy.Timeout: -1s is negative", "Endpoints[0].Port: 0 is not a port"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := shortLived()
			tc.modify(&c)
			_, err := ForRevision(DefaultOptions(), c)
			if err == nil {
				t.Fatal("ForRevision succeeded")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			assertContainsInOrder(t, err.Error(), tc.want)
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Options)
		want   []string
	}{
		{"proxy port 0", func(o *Options) { o.ProxyPort = 0 }, []string{"ProxyPort 0 is not a port"}},
		{"health port too big", func(o *Options) { o.HealthPort = 65536 }, []string{"HealthPort 65536 is not a port"}},
		{"same ports", func(o *Options) { o.HealthPort = o.ProxyPort }, []string{"ProxyPort and HealthPort are both 8081"}},
		{"empty trust domain", func(o *Options) { o.TrustDomain = "" }, []string{`TrustDomain "" is not a SPIFFE trust domain`}},
		{"slash in trust domain", func(o *Options) { o.TrustDomain = "cluster.local/ns/x" }, []string{`TrustDomain "cluster.local/ns/x"`}},
		{"no identity secret", func(o *Options) { o.IdentitySecret = "" }, []string{"IdentitySecret is empty"}},
		{"no trust bundle", func(o *Options) { o.TrustBundleSecret = "" }, []string{"TrustBundleSecret is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := DefaultOptions()
			tc.modify(&o)
			want := append([]string{"invalid proxy configuration: snapshot options"}, tc.want...)
			_, err := ForRevision(o, shortLived())
			if err == nil {
				t.Fatal("ForRevision succeeded")
			}
			assertContainsInOrder(t, err.Error(), want)
			// Base has no error result: its Snapshot reports the problem.
			_, err = Base(o).Snapshot()
			if err == nil {
				t.Fatal("Base(o).Snapshot() succeeded")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q does not wrap ErrInvalid", err)
			}
			assertContainsInOrder(t, err.Error(), want)
		})
	}
}

func assertContainsInOrder(t *testing.T, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("error %q: want %q (after the previous expected parts)", got, w)
			return
		}
		rest = rest[i+len(w):]
	}
}
