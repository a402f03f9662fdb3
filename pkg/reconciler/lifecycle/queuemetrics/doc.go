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

// Package queuemetrics reads the request-duration histogram Knative's
// queue-proxy exports in Prometheus text format, and turns cumulative
// histograms into per-interval deltas and percentiles. It knows nothing of
// revisions or policy; package lifecycle decides what to scrape and keeps
// the results.
package queuemetrics
