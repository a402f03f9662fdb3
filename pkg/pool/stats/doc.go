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

// Package stats reads a ProxyPool's counts from every ssm-pool replica. A
// pooled proxy belongs to the replica that holds its ADS stream, so the
// pool's warm and leased counts are the sums over all replicas, each asked
// directly at its own address rather than through the Service.
package stats
