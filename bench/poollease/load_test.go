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
	"errors"
	"testing"
	"time"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

func TestDistribution(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name      string
		latencies []time.Duration
		want      distribution
	}{{
		name: "empty",
		want: distribution{},
	}, {
		name:      "one",
		latencies: []time.Duration{3 * ms},
		want:      distribution{n: 1, p50: 3 * ms, p90: 3 * ms, p99: 3 * ms, max: 3 * ms},
	}, {
		name:      "ten, unsorted: nearest rank",
		latencies: []time.Duration{10 * ms, 1 * ms, 9 * ms, 2 * ms, 8 * ms, 3 * ms, 7 * ms, 4 * ms, 6 * ms, 5 * ms},
		want:      distribution{n: 10, p50: 5 * ms, p90: 9 * ms, p99: 10 * ms, max: 10 * ms},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := distributionOf(tt.latencies); got != tt.want {
				t.Errorf("distributionOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSummariseGroupsByOutcome(t *testing.T) {
	t.Parallel()
	got := summarise([]sample{
		{latency: 2 * time.Millisecond, outcome: "GRANTED"},
		{latency: time.Millisecond, outcome: "EXHAUSTED"},
		{latency: 4 * time.Millisecond, outcome: "GRANTED"},
	})
	want := map[string]distribution{
		"GRANTED":   {n: 2, p50: 2 * time.Millisecond, p90: 4 * time.Millisecond, p99: 4 * time.Millisecond, max: 4 * time.Millisecond},
		"EXHAUSTED": {n: 1, p50: time.Millisecond, p90: time.Millisecond, p99: time.Millisecond, max: time.Millisecond},
	}
	if len(got) != len(want) {
		t.Fatalf("summarise = %+v, want %+v", got, want)
	}
	for outcome, d := range want {
		if got[outcome] != d {
			t.Errorf("summarise[%s] = %+v, want %+v", outcome, got[outcome], d)
		}
	}
	if others := otherOutcomes(got, "GRANTED"); others != "EXHAUSTED 1" {
		t.Errorf("otherOutcomes = %q, want %q", others, "EXHAUSTED 1")
	}
}

func TestValidateOptions(t *testing.T) {
	t.Parallel()
	valid := options{mode: "pool", proxies: 1000, leases: 1000, rate: 100, parallel: 8}
	tests := []struct {
		name   string
		modify func(*options)
		want   string
	}{
		{name: "defaults", modify: func(*options) {}},
		{name: "unknown mode", modify: func(o *options) { o.mode = "istiod" }, want: `-mode "istiod": want pool or plain`},
		{name: "no proxies", modify: func(o *options) { o.proxies = 0 }, want: "-proxies 0: want 1..20000"},
		{name: "too many leases", modify: func(o *options) { o.leases = 20001 }, want: "-leases 20001: want 1..20000"},
		{name: "zero rate", modify: func(o *options) { o.rate = 0 }, want: "-rate 0: want (0, 10000]"},
		{name: "no dialers", modify: func(o *options) { o.parallel = 0 }, want: "-dial-parallel 0: want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := valid
			tt.modify(&o)
			err := o.validate()
			if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || err.Error() != tt.want)) {
				t.Errorf("validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRevisionSource(t *testing.T) {
	t.Parallel()
	src, err := newRevisionSource(3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.Get(revisionKey(2))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Pooled() || c.Pool.String() != "knative-serving/default" || c.Key.String() != "bench/rev-00002" ||
		len(c.Endpoints) != 2 || c.Endpoints[0].IP != "127.1.0.3" || c.Endpoints[1].IP != "127.2.0.3" {
		t.Errorf("revision 2 = %+v", c)
	}
	if _, err := src.Get(revisionKey(3)); !errors.Is(err, revision.ErrNotFound) {
		t.Errorf("Get of a revision the source does not hold = %v, want revision.ErrNotFound", err)
	}
}
