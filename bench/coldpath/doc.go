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

// Command coldpath measures the cold path on the local cluster's running
// data plane: one request to a revision at zero, through SSM's activator,
// until its response, for a plain Knative Service, a short-lived SSM
// revision that leases a pooled proxy and one that does not (the activator
// speaks mTLS to its pod), in interleaved cycles. From the activator's
// cold-start phase metrics it also takes the time from the first pod being
// ready to the first byte, which SSM's lease must not lengthen.
// bench/cold-path.sh runs it.
package main
