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

// Package comparison runs the component benchmarks under bench/ the way the
// project reports speed: closed-loop rounds of each variant, interleaved so
// that a noisy machine hurts every variant alike, summarised as medians over
// rounds and as per-round ratios against a baseline measured in the same run.
// It also holds what those benchmarks share around the rounds: the load
// flags and their bounds, the bounded run, and the report's common cells.
package comparison
