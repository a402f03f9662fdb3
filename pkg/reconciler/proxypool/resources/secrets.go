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

package resources

import (
	"path"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"

	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

const (
	// IdentityDir is where the identity Secret (tls.crt, tls.key, ca.crt) is
	// mounted.
	IdentityDir = "/etc/ssm/identity"
	// IdentityCAFile is the trust bundle's key in the identity Secret, the
	// name cert-manager and the identity controller use (tls.crt and tls.key
	// are the kubernetes.io/tls keys).
	IdentityCAFile = "ca.crt"
)

// SDSSecretConfig is how every TLS context of a pooled proxy refers to the
// secret name (names.EnvoyIdentitySecret or names.EnvoyTrustBundleSecret),
// in the bootstrap and in what ssm-pool pushes alike (envoy.FileSDS: one
// constructor for both, so Envoy shares one secret provider).
func SDSSecretConfig(name string) *tlsv3.SdsSecretConfig {
	return envoy.FileSDS(name, BootstrapDir)
}

// SDSFile is the ConfigMap key and file name of the secret name.
func SDSFile(name string) string { return name + ".yaml" }

// MakeSDSFiles builds the filesystem SDS responses, keyed by SDSFile, that
// define the proxy's identity and trust bundle from the mounted identity
// Secret. The kubelet swaps a Secret volume's files by renaming its ..data
// link inside IdentityDir; watching that directory reloads a rotated
// certificate with no restart.
func MakeSDSFiles() (map[string]*discoveryv3.DiscoveryResponse, error) {
	watch := &corev3.WatchedDirectory{Path: IdentityDir}
	secrets := []*tlsv3.Secret{{
		Name: names.EnvoyIdentitySecret,
		Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
			CertificateChain: identityFile(corev1.TLSCertKey),
			PrivateKey:       identityFile(corev1.TLSPrivateKeyKey),
			WatchedDirectory: watch,
		}},
	}, {
		Name: names.EnvoyTrustBundleSecret,
		Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:        identityFile(IdentityCAFile),
			WatchedDirectory: watch,
		}},
	}}
	files := make(map[string]*discoveryv3.DiscoveryResponse, len(secrets))
	for _, s := range secrets {
		a, err := typedConfig(s)
		if err != nil {
			return nil, err
		}
		files[SDSFile(s.Name)] = &discoveryv3.DiscoveryResponse{Resources: []*anypb.Any{a}}
	}
	return files, nil
}

func identityFile(key string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path.Join(IdentityDir, key)}}
}
