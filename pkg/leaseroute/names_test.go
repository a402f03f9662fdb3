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

package leaseroute

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// The literals below were computed once outside the code under test:
//
//	printf %s ssm-pool-6f7c9d8b4-abcde | sha256sum | cut -c1-10   -> 7a74a774d2
//	printf %s ssm-pool-6f7c9d8b4-fghij | sha256sum | cut -c1-10   -> 62f9025bcd
//	printf %s a-very-long-revision-name-that-goes-well-beyond-what-fits-00001 | md5sum
//	                                                   -> 16aaa1a7ee13f2a16c001ba51130e188
//
// The long name has 63 characters; kmeta.ChildName keeps its first
// 31-len(suffix) characters, then the md5 of the whole name, then the suffix.
// They are pinned because ssm-pool replicas and the controller, possibly of
// different versions, must agree on them, and a restarted replica must find
// the slices an earlier run left behind.
const longRevision = "a-very-long-revision-name-that-goes-well-beyond-what-fits-00001"

func TestReplicaID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		replica string
		want    string
	}{
		{replica: "ssm-pool-6f7c9d8b4-abcde", want: "7a74a774d2"},
		{replica: "ssm-pool-6f7c9d8b4-fghij", want: "62f9025bcd"},
	}
	for _, tc := range tests {
		if got := ReplicaID(tc.replica); got != tc.want {
			t.Errorf("ReplicaID(%q) = %q, want %q", tc.replica, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		revision string
		replica  string
		wantSvc  string
		wantAct  string
		wantPool string
	}{{
		name:     "a short revision name is kept whole",
		revision: "hello-00001",
		replica:  "ssm-pool-6f7c9d8b4-abcde",
		wantSvc:  "hello-00001-ssm",
		wantAct:  "hello-00001-ssm-activator",
		wantPool: "hello-00001-ssm-7a74a774d2",
	}, {
		name:     "another replica has another slice",
		revision: "hello-00001",
		replica:  "ssm-pool-6f7c9d8b4-fghij",
		wantSvc:  "hello-00001-ssm",
		wantAct:  "hello-00001-ssm-activator",
		wantPool: "hello-00001-ssm-62f9025bcd",
	}, {
		name:     "a 63-character revision name is shortened to a 63-character object name",
		revision: longRevision,
		replica:  "ssm-pool-6f7c9d8b4-abcde",
		wantSvc:  "a-very-long-revision-name-t16aaa1a7ee13f2a16c001ba51130e188-ssm",
		wantAct:  "a-very-long-revis16aaa1a7ee13f2a16c001ba51130e188-ssm-activator",
		wantPool: "a-very-long-revi16aaa1a7ee13f2a16c001ba51130e188-ssm-7a74a774d2",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ServiceName(tc.revision); got != tc.wantSvc {
				t.Errorf("ServiceName(%q) = %q, want %q", tc.revision, got, tc.wantSvc)
			}
			if got := ActivatorSliceName(tc.revision); got != tc.wantAct {
				t.Errorf("ActivatorSliceName(%q) = %q, want %q", tc.revision, got, tc.wantAct)
			}
			if got := LeaseSliceName(tc.revision, tc.replica); got != tc.wantPool {
				t.Errorf("LeaseSliceName(%q, %q) = %q, want %q", tc.revision, tc.replica, got, tc.wantPool)
			}
			for _, n := range []string{ServiceName(tc.revision), ActivatorSliceName(tc.revision), LeaseSliceName(tc.revision, tc.replica)} {
				if len(n) > 63 {
					t.Errorf("%q has %d characters, more than an object name may have", n, len(n))
				}
			}
		})
	}
}

func TestSliceSelector(t *testing.T) {
	t.Parallel()
	sel := SliceSelector("hello-00001")
	if got, want := sel.String(), "kubernetes.io/service-name=hello-00001-ssm"; got != want {
		t.Errorf("SliceSelector(hello-00001) = %q, want %q", got, want)
	}
	tests := []struct {
		labels map[string]string
		want   bool
	}{
		{labels: map[string]string{"kubernetes.io/service-name": "hello-00001-ssm", "endpointslice.kubernetes.io/managed-by": "ssm-pool.ssm.dev"}, want: true},
		{labels: map[string]string{"kubernetes.io/service-name": "hello-00002-ssm"}, want: false},
		{labels: map[string]string{"kubernetes.io/service-name": "hello-00001"}, want: false},
		{labels: map[string]string{"serving.knative.dev/revision": "hello-00001"}, want: false},
	}
	for _, tc := range tests {
		if got := sel.Matches(labels.Set(tc.labels)); got != tc.want {
			t.Errorf("SliceSelector(hello-00001).Matches(%v) = %t, want %t", tc.labels, got, tc.want)
		}
	}
}

func TestRevisionOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{labels: map[string]string{"serving.knative.dev/revision": "hello-00001", "kubernetes.io/service-name": "hello-00001-ssm"}, want: "hello-00001"},
		{labels: map[string]string{"kubernetes.io/service-name": "hello-00001-ssm"}, want: ""},
		{labels: nil, want: ""},
	}
	for _, tc := range tests {
		if got := RevisionOf(tc.labels); got != tc.want {
			t.Errorf("RevisionOf(%v) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}
