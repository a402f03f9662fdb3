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
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

func TestPoolReplicaAddresses(t *testing.T) {
	t.Parallel()
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	lister := corev1listers.NewEndpointsLister(indexer)
	if got := poolReplicaAddresses(lister, "knative-serving"); got != nil {
		t.Errorf("without Endpoints: %v, want none", got)
	}
	if err := indexer.Add(&corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: "knative-serving", Name: "ssm-pool"},
		Subsets: []corev1.EndpointSubset{{
			Addresses:         []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
			NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.0.0.3"}},
			Ports:             []corev1.EndpointPort{{Name: "grpc-xds", Port: 18000}, {Name: "http-metrics", Port: 9090}},
		}, {
			// A subset without the lease API's port is not a replica to lease from.
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.4"}},
			Ports:     []corev1.EndpointPort{{Name: "http-metrics", Port: 9090}},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:18000", "10.0.0.2:18000"}
	if diff := cmp.Diff(want, poolReplicaAddresses(lister, "knative-serving")); diff != "" {
		t.Errorf("poolReplicaAddresses (-want +got):\n%s", diff)
	}
}
