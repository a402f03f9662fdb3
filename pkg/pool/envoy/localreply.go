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

package envoy

import (
	accesslog "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// NotForwardedFlags are Envoy's response flags of a local reply to a
// request that reached no upstream: no healthy upstream host (UH), upstream
// connection failure (UF, after the route's connect-failure retries), no
// cluster (NC). Such a request never ran, so it may be sent again.
var NotForwardedFlags = []string{"UH", "UF", "NC"}

// NotForwardedReply maps Envoy's local reply to a request that reached no
// upstream (NotForwardedFlags) to status, with header: value added, so
// that the caller can tell "not sent" from an answer of the function.
func NotForwardedReply(status uint32, header, value string) *hcm.LocalReplyConfig {
	return &hcm.LocalReplyConfig{Mappers: []*hcm.ResponseMapper{{
		Filter: &accesslog.AccessLogFilter{FilterSpecifier: &accesslog.AccessLogFilter_ResponseFlagFilter{
			ResponseFlagFilter: &accesslog.ResponseFlagFilter{Flags: append([]string(nil), NotForwardedFlags...)},
		}},
		StatusCode: wrapperspb.UInt32(status),
		HeadersToAdd: []*core.HeaderValueOption{{
			Header:       &core.HeaderValue{Key: header, Value: value},
			AppendAction: core.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}},
	}}}
}
