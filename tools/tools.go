//go:build tools

// Package tools pins the code generators that hack/update-codegen.sh runs, so
// that they resolve from this module's go.sum at the versions it records.
package tools

import (
	_ "k8s.io/code-generator"
	_ "knative.dev/hack"
	_ "knative.dev/pkg/codegen/cmd/injection-gen"
)
