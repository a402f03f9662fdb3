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
	"crypto/sha256"
	"encoding/hex"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/kmeta"
	"knative.dev/serving/pkg/apis/serving"
)

const (
	// ServiceSuffix is appended to a revision's name to name its lease
	// Service. Knative's own Services are <revision> and <revision>-private.
	ServiceSuffix = "-ssm"

	// ManagedByPool is the EndpointSlice managed-by label of the slices
	// ssm-pool publishes: one per revision and ssm-pool replica.
	ManagedByPool = "ssm-pool.ssm.dev"
	// ManagedByController is the managed-by label of the activator slice
	// SSM's controller publishes for a revision.
	ManagedByController = "ssm-controller.ssm.dev"

	// ReplicaLabelKey names the ssm-pool replica a lease slice belongs to,
	// so that a restarted replica can find and remove what it left behind.
	ReplicaLabelKey = "ssm.dev/pool-replica"
)

// ServiceName is the lease Service of a revision.
func ServiceName(revision string) string {
	return kmeta.ChildName(revision, ServiceSuffix)
}

// ActivatorSliceName is the EndpointSlice of the lease Service that SSM's
// controller keeps.
func ActivatorSliceName(revision string) string {
	return kmeta.ChildName(revision, ServiceSuffix+"-activator")
}

// LeaseSliceName is the EndpointSlice of the lease Service that one ssm-pool
// replica keeps. The replica's name is hashed: pod names are long and the
// result must stay a valid object name.
func LeaseSliceName(revision, replica string) string {
	return kmeta.ChildName(revision, ServiceSuffix+"-"+ReplicaID(replica))
}

// ReplicaID is a short, label-safe name for an ssm-pool replica.
func ReplicaID(replica string) string {
	sum := sha256.Sum256([]byte(replica))
	return hex.EncodeToString(sum[:])[:10]
}

// SliceSelector selects every EndpointSlice of a revision's lease Service.
func SliceSelector(revision string) labels.Selector {
	return labels.SelectorFromSet(SliceLabels(revision))
}

// SliceLabels are the labels every slice of a revision's lease Service
// carries, and that select them.
func SliceLabels(revision string) map[string]string {
	return map[string]string{discoveryv1.LabelServiceName: ServiceName(revision)}
}

// RevisionOf names the revision of a lease Service or one of its slices,
// from the label both carry.
func RevisionOf(l map[string]string) string {
	return l[serving.RevisionLabelKey]
}
