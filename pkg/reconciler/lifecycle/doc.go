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

// Package lifecycle is the autoscaler hook: it watches KPA PodAutoscalers,
// Revisions and their private Endpoints read-only, scrapes queue-proxy's
// request durations, and keeps per revision a bounded History that observes
// lifecycle classes for pkg/policy and sizes ProxyPools through
// pkg/pool/sizing. The History lives in memory and is lost on restart, which
// is acceptable: the sizing model relearns a daily pattern within a day while
// each pool's minSize still applies, and an "auto" revision keeps the class
// its KIngress last applied until fresh observations confirm or change it.
package lifecycle
