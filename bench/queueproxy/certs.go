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

package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

const (
	trustDomain     = "cluster.local"
	systemNamespace = "knative-serving"
	// serverName is what the client verifies the queue-proxy's certificate
	// for; pooled proxies use the pod's name in the revision's namespace.
	serverName = "hello-00001.bench.svc"
)

// writeIdentity creates an in-process CA, writes the queue-proxy's workload
// identity (tls.crt, tls.key, ca.crt, as the kubelet projects the Secret)
// into dir, and returns a client certificate for a pooled proxy of the
// system pool, which the plugin admits.
func writeIdentity(dir string) (client tls.Certificate, ca *identity.CA, err error) {
	now := time.Now()
	ca, err = identity.NewCA(now, 24*time.Hour)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("creating the CA: %w", err)
	}
	certPEM, keyPEM, err := ca.Issue(now, identity.LeafSpec{
		ID:       identity.NewID(trustDomain, namespace, "default"),
		DNSNames: []string{serverName},
		Server:   true,
		Validity: 12 * time.Hour,
	})
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issuing the queue-proxy's certificate: %w", err)
	}
	caPEM, _ := ca.PEM()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return tls.Certificate{}, nil, fmt.Errorf("writing the queue-proxy's identity: %w", err)
		}
	}
	clientCert, clientKey, err := ca.Issue(now, identity.LeafSpec{
		ID:       identity.NewID(trustDomain, systemNamespace, ssm.PoolProxyServiceAccount),
		Client:   true,
		Validity: 12 * time.Hour,
	})
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("issuing the pooled proxy's certificate: %w", err)
	}
	client, err = tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("pooled proxy's key pair: %w", err)
	}
	return client, ca, nil
}
