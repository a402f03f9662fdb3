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
	"fmt"
	"testing"

	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// tenEndpoints is shortLived with ten ready pods.
func tenEndpoints() revision.Config {
	c := shortLived()
	c.Endpoints = nil
	for i := range 10 {
		c.Endpoints = append(c.Endpoints, revision.Endpoint{IP: fmt.Sprintf("10.0.%d.%d", i/4, 10+i), Port: 8113})
	}
	return c
}

func BenchmarkBase(b *testing.B) {
	o := DefaultOptions()
	b.ReportAllocs()
	for b.Loop() {
		if r := Base(o); r.err != nil {
			b.Fatal(r.err)
		}
	}
}

func BenchmarkForRevision(b *testing.B) {
	o, c := DefaultOptions(), tenEndpoints()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ForRevision(o, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshot(b *testing.B) {
	o, c := DefaultOptions(), tenEndpoints()
	b.ReportAllocs()
	for b.Loop() {
		r, err := ForRevision(o, c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
}
