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

package xdsprobe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
)

// Target is a gateway workload and the hosts of a KIngress it must serve.
type Target struct {
	Workload Workload
	Hosts    []string
}

// TargetLister lists the gateway workloads serving a KIngress, each with the
// hosts it must serve. The reconciler implements it from the Gateways it
// bound the KIngress to.
type TargetLister interface {
	ListTargets(ctx context.Context, ing *v1alpha1.Ingress) ([]Target, error)
}

// ErrNoTargets means a KIngress has no gateway workload to check. It is an
// error, never "ready": a KIngress must not turn Ready because nothing was
// checked.
var ErrNoTargets = errors.New("no gateway workload to check")

// normalizeTargets merges targets of the same workload, lower-cases and
// sorts hosts, and sorts by workload, so that equal inputs compare equal and
// are checked in the same order.
func normalizeTargets(targets []Target) ([]Target, error) {
	if len(targets) == 0 {
		return nil, ErrNoTargets
	}
	hosts := map[string]sets.Set[string]{}
	workloads := map[string]Workload{}
	for _, t := range targets {
		if err := t.Workload.validate(); err != nil {
			return nil, err
		}
		key := t.Workload.String()
		if hosts[key] == nil {
			hosts[key] = sets.New[string]()
			workloads[key] = t.Workload
		}
		for _, h := range t.Hosts {
			hosts[key].Insert(strings.ToLower(h))
		}
	}
	keys := sets.List(sets.KeySet(hosts))
	out := make([]Target, 0, len(keys))
	for _, key := range keys {
		if hosts[key].Len() == 0 {
			return nil, fmt.Errorf("gateway workload %s: no hosts to check", key)
		}
		out = append(out, Target{Workload: workloads[key], Hosts: sets.List(hosts[key])})
	}
	return out, nil
}

// fingerprint identifies normalized targets.
func fingerprint(targets []Target) string {
	var b strings.Builder
	for _, t := range targets {
		b.WriteString(t.Workload.String())
		b.WriteString(strings.Join(t.Hosts, ","))
		b.WriteByte(';')
	}
	return b.String()
}
