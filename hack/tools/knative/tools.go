//go:build tools

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

// Package tools pins Knative Serving's own components that
// hack/build-tools.sh builds for the local cluster; this file only exists so
// that `go mod tidy` keeps their dependencies in go.mod and go.sum. The
// networking and caching imports keep those modules (whose YAML the cluster
// applies) in the module graph at the versions the main module uses.
package tools

import (
	_ "knative.dev/caching/pkg/apis/caching/v1alpha1"
	_ "knative.dev/networking/pkg/apis/networking/v1alpha1"
	_ "knative.dev/pkg/apis"
	_ "knative.dev/serving/cmd/activator"
	_ "knative.dev/serving/cmd/autoscaler"
	_ "knative.dev/serving/cmd/controller"
	_ "knative.dev/serving/cmd/queue"
	_ "knative.dev/serving/cmd/webhook"
)
