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

// Package xdsprobe confirms KIngress readiness through istiod's xDS instead of
// HTTP probes: it connects to istiod as each gateway workload would, keeps the
// route configuration istiod sends it, and calls a KIngress ready once every
// host it serves carries the KIngress's current probe route. It exists for
// clusters where no gateway pod runs, so there is nothing to probe over HTTP.
package xdsprobe
