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
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAllocatorGoesRoundThePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prefix  string
		release map[int]bool // release the address got at these steps
		steps   int
		want    []string
	}{{
		name:   "never reuses the lowest free address first",
		prefix: "10.244.1.0/29", steps: 6, release: map[int]bool{1: true},
		want: []string{"10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6", "10.244.1.3"},
	}, {
		name:   "exhausted",
		prefix: "10.244.1.0/30", steps: 2,
		want: []string{"10.244.1.2", "exhausted"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAllocator(netip.MustParsePrefix(tc.prefix))
			var got []string
			for i := range tc.steps {
				ip, err := a.allocate()
				if err != nil {
					got = append(got, "exhausted")
					continue
				}
				got = append(got, ip.String())
				if tc.release[i] {
					a.release(ip)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   map[string]string
		want string
	}{
		{name: "empty", in: nil, want: ""},
		{name: "sorted and quoted", in: map[string]string{"b": "x\"y", "a": "1"}, want: "a=\"1\"\nb=\"x\\\"y\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := formatMap(tc.in); got != tc.want {
				t.Errorf("formatMap = %q, want %q", got, tc.want)
			}
		})
	}
}
