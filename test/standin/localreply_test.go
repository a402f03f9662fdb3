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

package standin

import (
	"net/http/httptest"
	"testing"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
)

// The stand-in answers a request that reached no upstream as the revision
// listener's local reply mapping tells Envoy to: 421 marked no-upstream,
// which the activator may send elsewhere; without a mapping, Envoy's 503.
func TestNotForwarded(t *testing.T) {
	t.Parallel()
	otherFlags := envoy.NotForwardedReply(421, "x-ssm-proxy-refused", "no-upstream")
	otherFlags.Mappers[0].Filter.FilterSpecifier = &accesslogv3.AccessLogFilter_ResponseFlagFilter{
		ResponseFlagFilter: &accesslogv3.ResponseFlagFilter{Flags: []string{"UH"}},
	}
	tests := []struct {
		name       string
		config     *hcmv3.LocalReplyConfig
		wantErr    bool
		wantStatus int
		wantHeader string
	}{{
		name:       "pkg/pool's mapping: 421 with the refusal header",
		config:     envoy.NotForwardedReply(421, "x-ssm-proxy-refused", "no-upstream"),
		wantStatus: 421,
		wantHeader: "no-upstream",
	}, {
		name:       "no mapping: Envoy's 503",
		wantStatus: 503,
	}, {
		name:    "a mapping on other response flags is not understood",
		config:  otherFlags,
		wantErr: true,
	}, {
		name:    "two mappers are not understood",
		config:  &hcmv3.LocalReplyConfig{Mappers: append(envoy.NotForwardedReply(421, "a", "b").Mappers, envoy.NotForwardedReply(421, "a", "b").Mappers...)},
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reply, err := translateLocalReply(tc.config)
			if (err != nil) != tc.wantErr {
				t.Fatalf("translateLocalReply() error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			rec := httptest.NewRecorder()
			notForwarded(rec, route{noUpstream: reply}, "no healthy upstream")
			if rec.Code != tc.wantStatus || rec.Header().Get("x-ssm-proxy-refused") != tc.wantHeader {
				t.Errorf("answer = %d with refusal header %q, want %d %q", rec.Code, rec.Header().Get("x-ssm-proxy-refused"),
					tc.wantStatus, tc.wantHeader)
			}
			if diff := cmp.Diff("no healthy upstream\n", rec.Body.String()); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
