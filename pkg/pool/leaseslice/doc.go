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

// Package leaseslice is ssm-pool's writer of lease Service endpoints (see
// pkg/leaseroute): one EndpointSlice per leased revision and ssm-pool
// replica, holding the replica's proxies that can serve the revision. Writes
// happen off the lease path, from a work queue, so a Lease never waits on
// the API server.
package leaseslice
