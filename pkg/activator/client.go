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

package activator

import (
	"fmt"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

// DefaultIdentityDir is where the activator's Deployment mounts its leaf
// Secret (ssm-activator-tls).
const DefaultIdentityDir = "/var/run/ssm/identity"

// PoolServerHost is ssm-pool's Service name in the system namespace: the
// name its certificate is verified against.
func PoolServerHost(systemNamespace string) string {
	return ssm.PoolServerName + "." + systemNamespace + ".svc"
}

// DefaultPoolAddress is where ssm-pool's lease API listens.
func DefaultPoolAddress(systemNamespace string) string {
	return net.JoinHostPort(PoolServerHost(systemNamespace), strconv.Itoa(ssm.PoolServerPort))
}

// DialPool connects to ssm-pool's lease API at address over mTLS, with the
// identity in identityDir, verifying the server as serverName. It fails
// at once when the identity cannot be read, so the caller can run without
// the hook instead of failing every lease; later rotations of the files are
// picked up on the next handshake.
func DialPool(address, identityDir, serverName string) (*grpc.ClientConn, error) {
	source := identity.NewFileSource(identityDir)
	if _, err := source.Certificate(); err != nil {
		return nil, fmt.Errorf("activator identity in %s: %w", identityDir, err)
	}
	if _, err := source.Bundle(); err != nil {
		return nil, fmt.Errorf("activator identity in %s: %w", identityDir, err)
	}
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(credentials.NewTLS(identity.ClientConfig(source, serverName))))
	if err != nil {
		return nil, fmt.Errorf("ssm-pool client for %s: %w", address, err)
	}
	return conn, nil
}
