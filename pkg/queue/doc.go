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

// Package queue is SSM's queue-proxy plugin: switched on in a revision's pod
// by the qpoption.knative.dev/ssm-activate annotation, it terminates mTLS from
// pooled proxies and the activator on its own port, refuses plaintext from
// outside the pod when the revision's policy requires mTLS, and enforces the
// revision's deadline. It depends on Knative's queue-proxy only through an
// http.Handler, so cmd/queue adapts it to sharedmain.Option.
package queue
