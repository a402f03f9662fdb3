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
	"fmt"
	"path"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tls "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// TLSTransportSocket is the name of Envoy's TLS transport socket.
const TLSTransportSocket = "envoy.transport_sockets.tls"

// UpstreamTLS says how a proxy authenticates to an upstream and which
// upstream it accepts.
type UpstreamTLS struct {
	// CertificateSecret names the secret with the proxy's own certificate
	// and key.
	CertificateSecret string
	// TrustBundleSecret names the validation-context secret with the CA
	// bundle upstream certificates must chain to.
	TrustBundleSecret string
	// PeerURISAN is the only URI SAN accepted from the upstream.
	PeerURISAN string
	// SNI sent to the upstream.
	SNI string
	// ALPN lists the protocols offered in the handshake; empty offers none.
	ALPN []string
	// SecretDirectory holds the filesystem SDS files, one per secret
	// (FileSDS), that the pooled proxy's bootstrap ConfigMap mounts.
	SecretDirectory string
}

// FileSDS refers to the secret name defined by the file <dir>/<name>.yaml
// (filesystem SDS). Key material never travels over xDS: the file points at
// the mounted identity Secret. Static bootstrap secrets are not used
// because Envoy reads their files once and never reloads a rotated
// certificate; a watched directory does. Envoy shares one secret provider
// between identical references, so the bootstrap and every pushed cluster
// must build this reference the same way, with this function.
func FileSDS(name, dir string) *tls.SdsSecretConfig {
	return &tls.SdsSecretConfig{
		Name: name,
		SdsConfig: &core.ConfigSource{
			ConfigSourceSpecifier: &core.ConfigSource_PathConfigSource{PathConfigSource: &core.PathConfigSource{
				Path: path.Join(dir, name+".yaml"),
				// A ConfigMap volume swaps its files by renaming a link in
				// the mount directory; only a watch on the directory sees it.
				WatchedDirectory: &core.WatchedDirectory{Path: dir},
			}},
			ResourceApiVersion: core.ApiVersion_V3,
		},
	}
}

// UpstreamTLSTransportSocket is an mTLS transport socket whose secrets come
// from filesystem SDS (FileSDS). The SAN match sits in the default validation context so that the trust bundle
// secret carries only CAs and can be shared by every cluster.
func UpstreamTLSTransportSocket(t UpstreamTLS) (*core.TransportSocket, error) {
	ctx := &tls.UpstreamTlsContext{
		Sni: t.SNI,
		CommonTlsContext: &tls.CommonTlsContext{
			AlpnProtocols:                  t.ALPN,
			TlsCertificateSdsSecretConfigs: []*tls.SdsSecretConfig{FileSDS(t.CertificateSecret, t.SecretDirectory)},
			ValidationContextType: &tls.CommonTlsContext_CombinedValidationContext{
				CombinedValidationContext: &tls.CommonTlsContext_CombinedCertificateValidationContext{
					DefaultValidationContext: &tls.CertificateValidationContext{
						MatchTypedSubjectAltNames: []*tls.SubjectAltNameMatcher{{
							SanType: tls.SubjectAltNameMatcher_URI,
							Matcher: &matcher.StringMatcher{
								MatchPattern: &matcher.StringMatcher_Exact{Exact: t.PeerURISAN},
							},
						}},
					},
					ValidationContextSdsSecretConfig: FileSDS(t.TrustBundleSecret, t.SecretDirectory),
				},
			},
		},
	}
	typed, err := TypedConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream TLS for %s: %w", t.SNI, err)
	}
	return &core.TransportSocket{
		Name:       TLSTransportSocket,
		ConfigType: &core.TransportSocket_TypedConfig{TypedConfig: typed},
	}, nil
}
