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

// Package source answers, for ssm-pool, what a pooled proxy needs to serve a
// revision: its policy resolved by pkg/policy from the same inputs the
// KIngress reconciler uses (ssm.dev/* annotations, the selecting
// ServerlessPolicy, config-ssm), the ProxyPool it leases from and its ready
// pods, all read from informer caches so that a lease never waits on the API
// server.
package source
