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
	// serverName is the DNS name clients verify the pool's certificate for.
	serverName = ssm.PoolServerName + "." + systemNamespace + ".svc"
	// activatorAccount is the lease client's ServiceAccount.
	activatorAccount = "activator"
)

// certDirs are the leaf certificate directories, each holding tls.crt,
// tls.key and ca.crt as a mounted Secret would.
type certDirs struct {
	server, proxy, activator string
}

func newCertDirs(root string) certDirs {
	return certDirs{
		server:    filepath.Join(root, "server"),
		proxy:     filepath.Join(root, "proxy"),
		activator: filepath.Join(root, "activator"),
	}
}

// writeCerts creates an in-process CA and the three identities of the run:
// the pool server, every pooled proxy (they share the ssm-proxy
// ServiceAccount) and the activator.
func writeCerts(root string) (certDirs, error) {
	now := time.Now()
	ca, err := identity.NewCA(now, time.Hour)
	if err != nil {
		return certDirs{}, fmt.Errorf("creating the CA: %w", err)
	}
	caPEM, _ := ca.PEM()
	dirs := newCertDirs(root)
	leaves := []struct {
		dir  string
		spec identity.LeafSpec
	}{{
		dir: dirs.server,
		spec: identity.LeafSpec{
			ID:       identity.NewID(trustDomain, systemNamespace, ssm.PoolServerName),
			DNSNames: []string{serverName},
			Server:   true,
		},
	}, {
		dir:  dirs.proxy,
		spec: identity.LeafSpec{ID: identity.NewID(trustDomain, systemNamespace, ssm.PoolProxyServiceAccount), Client: true},
	}, {
		dir:  dirs.activator,
		spec: identity.LeafSpec{ID: identity.NewID(trustDomain, systemNamespace, activatorAccount), Client: true},
	}}
	for _, leaf := range leaves {
		certPEM, keyPEM, err := ca.Issue(now, leaf.spec)
		if err != nil {
			return certDirs{}, fmt.Errorf("issuing %s: %w", leaf.spec.ID, err)
		}
		if err := os.MkdirAll(leaf.dir, 0o700); err != nil {
			return certDirs{}, fmt.Errorf("creating %s: %w", leaf.dir, err)
		}
		files := map[string][]byte{identity.TLSCertKey: certPEM, identity.TLSKeyKey: keyPEM, identity.CACertKey: caPEM}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(leaf.dir, name), data, 0o600); err != nil {
				return certDirs{}, fmt.Errorf("writing %s of %s: %w", name, leaf.spec.ID, err)
			}
		}
	}
	return dirs, nil
}
