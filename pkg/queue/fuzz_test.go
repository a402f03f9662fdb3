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
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// formatPodInfoAnnotations writes annotations the way the kubelet writes the
// downward-API annotations file (k8s.io/kubernetes/pkg/fieldpath.FormatMap):
// one key="Go-quoted value" line per annotation, sorted by key.
func formatPodInfoAnnotations(annotations map[string]string) []byte {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		b.WriteString(k + "=" + strconv.Quote(annotations[k]) + "\n")
	}
	return []byte(b.String())
}

// writableKey reports whether key survives a line of the annotations file:
// the line is split at the first '=' and trimmed of surrounding space.
// Every Kubernetes annotation key (a qualified name) is writable.
func writableKey(key string) bool {
	return key != "" && !strings.ContainsAny(key, "=\n") &&
		strings.TrimLeftFunc(key, unicode.IsSpace) == key
}

// FuzzParsePodInfoAnnotations feeds the parser arbitrary files. Whatever it
// accepts has non-empty keys, parses the same way twice, and survives being
// written back in the kubelet's format; whatever it rejects it explains.
func FuzzParsePodInfoAnnotations(f *testing.F) {
	f.Add([]byte("qpoption.knative.dev/ssm-activate=\"enable\"\nssm.dev/timeout=\"2s\"\n"))
	f.Add([]byte("serving.knative.dev/creator=\"a \\\"quoted\\\" name\\n\"\r\n\n  ssm.dev/mtls-mode=\"full\"  \n"))
	f.Add([]byte("k=`raw`\nk2='x'\n"))
	f.Add([]byte("ssm.dev/timeout=2s\n"))
	f.Add([]byte("=\"no key\"\n"))
	f.Add([]byte("dup=\"1\"\ndup=\"2\"\n"))
	f.Add([]byte("a =\"x\"\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParsePodInfoAnnotations(data)
		if err != nil {
			if got != nil {
				t.Errorf("rejected input returned annotations %v with error %v", got, err)
			}
			if !strings.HasPrefix(err.Error(), "podinfo annotations") {
				t.Errorf("error %q does not say it is about the podinfo annotations", err)
			}
			return
		}
		if got == nil {
			t.Fatal("accepted input returned a nil map")
		}
		for k := range got {
			if !writableKey(k) {
				t.Errorf("key %q: empty, holds '=' or a newline, or starts with space", k)
			}
		}
		again, err := ParsePodInfoAnnotations(data)
		if err != nil {
			t.Fatalf("second parse of the same input failed: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("second parse differs (-first +second):\n%s", diff)
		}
		if len(data) > 64<<10 {
			// Quoting can grow a value fourfold; keep rewritten lines under
			// the parser's line limit.
			return
		}
		rewritten, err := ParsePodInfoAnnotations(formatPodInfoAnnotations(got))
		if err != nil {
			t.Fatalf("parsing the annotations written back: %v", err)
		}
		if diff := cmp.Diff(got, rewritten); diff != "" {
			t.Errorf("written back and parsed again (-first +again):\n%s", diff)
		}
	})
}

// FuzzPodInfoAnnotationsRoundTrip writes maps in the kubelet's format and
// parses them back: values are arbitrary bytes, keys anything an annotation
// key can be.
func FuzzPodInfoAnnotationsRoundTrip(f *testing.F) {
	f.Add("ssm.dev/timeout", "2s", "serving.knative.dev/creator", `a "quoted" name`)
	f.Add("k", "", "k2", "line\nbreak\ttab\x00nul\xffinvalid")
	f.Add("a", "é ünïcode \u2028", "b", "`backquote` 'single'")
	f.Add("same", "1", "same", "2")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if !writableKey(k1) || !writableKey(k2) {
			return
		}
		want := map[string]string{k1: v1, k2: v2}
		got, err := ParsePodInfoAnnotations(formatPodInfoAnnotations(want))
		if err != nil {
			t.Fatalf("parsing %q: %v", formatPodInfoAnnotations(want), err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}
