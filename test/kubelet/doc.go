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

// Package kubelet is what the local cluster's stand-ins for a kubelet
// (test/podrunner, hack/localpod) derive from a Pod the way a kubelet does:
// a container's environment and the outcome of its readiness probe. It is a
// test fixture and never ships.
package kubelet
