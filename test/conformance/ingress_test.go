//go:build e2e

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

package conformance

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"knative.dev/networking/test/conformance/ingress"
)

// ssmIngressClass is SSM's ingress class (ssm.IngressClassName in the main
// module, which this module does not import so that the suite's dependencies
// stay out of the main module).
const ssmIngressClass = "ssm.ingress.networking.knative.dev"

// TestMain makes SSM the default ingress class under test. The suite's own
// --ingressClass flag defaults to net-istio's class, so without this a bare
// `go test -tags e2e` would quietly test whichever controller owns that class
// instead of SSM. Setting the value before flag.Parse keeps the flag
// overridable: --ingressClass=istio.ingress.networking.knative.dev runs the
// same suite against net-istio for comparison.
func TestMain(m *testing.M) {
	if err := flag.Set("ingressClass", ssmIngressClass); err != nil {
		fmt.Fprintf(os.Stderr, "setting the default of flag --ingressClass to %q: %v\n", ssmIngressClass, err)
		os.Exit(2)
	}
	flag.Parse()
	os.Exit(m.Run())
}

// TestIngressConformance runs every stable conformance test, and the beta and
// alpha ones when --enable-beta / --enable-alpha are given; --skip-tests takes
// a comma-separated list of test names (for example "update") to skip.
func TestIngressConformance(t *testing.T) {
	ingress.RunConformance(t)
}
