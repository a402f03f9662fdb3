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
	"fmt"
	"time"

	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

const (
	revisionNamespace = "bench"
	poolName          = "default"
	// revisionTimeout is the revisions' timeoutSeconds, Knative's default.
	revisionTimeout = 300 * time.Second
)

// revisionKey is the i-th benchmark revision; the client and the server
// process derive the same names from the index.
func revisionKey(i int) revision.Key {
	return revision.Key{Namespace: revisionNamespace, Name: fmt.Sprintf("rev-%05d", i)}
}

// mapSource serves a fixed set of revisions; it is read-only after
// construction, so concurrent Gets need no lock.
type mapSource map[revision.Key]revision.Config

var _ revision.Source = mapSource(nil)

func (m mapSource) Get(key revision.Key) (revision.Config, error) {
	c, ok := m[key]
	if !ok {
		return revision.Config{}, fmt.Errorf("revision %s: %w", key, revision.ErrNotFound)
	}
	return c, nil
}

// newRevisionSource builds n short-lived revisions of the default pool, each
// with the policy pkg/policy resolves for the class and two ready pods.
func newRevisionSource(n int) (mapSource, error) {
	shortLived := policy.LifecycleShortLived
	pol, err := policy.Resolve(policy.Input{
		Annotations:     policy.Overrides{Lifecycle: &shortLived},
		Defaults:        policy.NewDefaults(),
		RevisionTimeout: revisionTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("resolving the short-lived policy: %w", err)
	}
	if pol.ProxyPool != poolName {
		return nil, fmt.Errorf("short-lived revisions lease from pool %q, the benchmark's proxies join %q", pol.ProxyPool, poolName)
	}
	src := make(mapSource, n)
	for i := range n {
		key := revisionKey(i)
		// Endpoints are configuration only, never dialled; loopback
		// addresses keep even that inside this machine.
		src[key] = revision.Config{
			Key:            key,
			Pool:           revision.PoolKey{Namespace: systemNamespace, Name: poolName},
			Policy:         pol,
			ServiceAccount: "default",
			Endpoints: []revision.Endpoint{
				{IP: fmt.Sprintf("127.1.%d.%d", i/250, i%250+1), Port: 8113},
				{IP: fmt.Sprintf("127.2.%d.%d", i/250, i%250+1), Port: 8113},
			},
		}
	}
	return src, nil
}
