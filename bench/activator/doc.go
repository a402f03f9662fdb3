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

// Command activator compares SSM's activator with Knative's stock activator
// in one process: Knative's real request chain and throttler (over fake
// Kubernetes clients, since the activator binary needs an API server), once
// as Knative builds it and once with SSM's lease hook as cmd/activator
// builds it, each serving real HTTP on loopback in front of the same
// backend process. Rounds of the variants are interleaved and compared as
// ratios in the same run.
package main
