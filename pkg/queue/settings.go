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

package queue

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/policy"
	"github.com/serverless-mesh/ssm/pkg/resolver"
)

// ActivateValue is the value of ssm.QueueProxyPluginAnnotationKey that
// switches the plugin on, as Knative's qpoption convention has it.
const ActivateValue = "enable"

// Settings is what the plugin enforces in one pod, decided once at start:
// Knative restarts no pod when a Revision's annotations change, because a
// Revision is immutable.
type Settings struct {
	// Active is false when the pod did not ask for the plugin; nothing else
	// then applies.
	Active bool
	// RequireMTLS refuses plaintext requests from outside the pod on
	// queue-proxy's main port.
	RequireMTLS bool
	// Timeout is the revision's deadline; 0 means none beyond Knative's own.
	Timeout time.Duration
	// Problem says why the ssm.dev/* annotations could not be used ("" when
	// they could); the plugin then enforces only what fails closed.
	Problem string
}

// DecideSettings turns a pod's annotations into Settings. The pod cannot read
// config-ssm or the ServerlessPolicy that selects its Service (it has no
// API-server access). Whether it was born sidecar-less it reads from the
// decision SSM stamped on its Revision (resolver.StampedPods), which Knative
// copies onto the pod. Its deadline policy.Resolve derives with the built-in
// defaults and the revision's timeoutSeconds, from explicit ssm.dev/*
// annotations only; pkg/resolver's TestPodSideTimeoutNeverTighter shows it
// is never shorter than the route's.
//
// mTLS fails closed: when the annotations cannot be parsed or resolved, the
// mode is unknown, and plaintext from outside is refused, because accepting
// it for a revision that needs mTLS would be a silent downgrade, while
// refusing it for one that does not only costs a fallback to the mTLS port.
// The deadline fails open (none), because an invented deadline would cut
// healthy requests.
func DecideSettings(annotations map[string]string, revisionTimeout time.Duration) Settings {
	if annotations[ssm.QueueProxyPluginAnnotationKey] != ActivateValue {
		return Settings{}
	}
	overrides, fe := policy.ParseAnnotations(annotations)
	if fe != nil {
		return Settings{Active: true, RequireMTLS: true, Problem: fe.Error()}
	}
	p, err := policy.Resolve(policy.Input{
		Annotations:     overrides,
		Defaults:        policy.NewDefaults(),
		RevisionTimeout: revisionTimeout,
	})
	if err != nil {
		return Settings{Active: true, RequireMTLS: true, Problem: err.Error()}
	}
	return Settings{
		Active: true,
		// Lightweight mode means no sidecar: nobody but this plugin stands
		// between the network and the function. In full mode the pod's Istio
		// sidecar enforces STRICT mTLS and hands requests over from a loopback
		// address, which the plaintext guard lets through anyway.
		RequireMTLS: p.MTLSMode == policy.MTLSLightweight || resolver.StampedPods(annotations).Sidecarless,
		Timeout:     p.Timeout,
	}
}

// ParsePodInfoAnnotations parses the downward-API annotations file: one
// `key="value"` line per annotation, the value Go-quoted.
func ParsePodInfoAnnotations(data []byte) (map[string]string, error) {
	annotations := make(map[string]string)
	scanner := bufio.NewScanner(bytes.NewReader(data))
	// An annotation value may be up to 256 KiB (the total limit on an
	// object's annotations), far past bufio's 64 KiB default line length.
	scanner.Buffer(make([]byte, 0, 64*1024), 512*1024)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" {
			continue
		}
		key, quoted, ok := strings.Cut(text, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("podinfo annotations line %d: want key=\"value\", got %q", line, text)
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return nil, fmt.Errorf("podinfo annotations line %d: value of %s is not a quoted string: %w", line, key, err)
		}
		annotations[key] = value
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("podinfo annotations: %w", err)
	}
	return annotations, nil
}
