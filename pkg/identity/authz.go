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

package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// PeerID is the SPIFFE ID of the gRPC peer in ctx, taken from the leaf of the
// chain the TLS handshake verified. A peer whose certificate carries no or
// several URI SANs has no identity: SPIFFE allows exactly one.
func PeerID(ctx context.Context) (ID, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ID{}, errors.New("no gRPC peer in context")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return ID{}, fmt.Errorf("peer %v: connection is not TLS", p.Addr)
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return ID{}, fmt.Errorf("peer %v: no verified certificate chain", p.Addr)
	}
	leaf := chains[0][0]
	switch len(leaf.URIs) {
	case 1:
	case 0:
		return ID{}, fmt.Errorf("peer %v: certificate has no URI SAN", p.Addr)
	default:
		uris := make([]string, len(leaf.URIs))
		for i, u := range leaf.URIs {
			uris[i] = u.String()
		}
		return ID{}, fmt.Errorf("peer %v: certificate has %d URI SANs (%s), want exactly one",
			p.Addr, len(leaf.URIs), strings.Join(uris, ", "))
	}
	id, err := ParseID(leaf.URIs[0].String())
	if err != nil {
		return ID{}, fmt.Errorf("peer %v: %w", p.Addr, err)
	}
	return id, nil
}

// AllowFunc decides whether an authenticated peer may call a method.
type AllowFunc func(ID) bool

// AllowIDs allows exactly the given IDs.
func AllowIDs(ids ...ID) AllowFunc {
	allowed := make(map[ID]struct{}, len(ids))
	for _, id := range ids {
		allowed[id] = struct{}{}
	}
	return func(id ID) bool {
		_, ok := allowed[id]
		return ok
	}
}

// AllowServiceAccount allows every ID of the trust domain whose service
// account is serviceAccount, in any namespace: pooled proxies run in their
// pool's namespace, which ssm-pool does not know in advance.
func AllowServiceAccount(trustDomain, serviceAccount string) AllowFunc {
	return func(id ID) bool {
		return id.TrustDomain == trustDomain && id.ServiceAccount == serviceAccount
	}
}

// Policy maps prefixes of full gRPC method names ("/pkg.Service/Method",
// or "/pkg.Service/" for a whole service) to who may call them.
type Policy map[string]AllowFunc

// Authorizer enforces a Policy as gRPC server interceptors. The longest
// matching prefix decides; a method no prefix matches is denied.
type Authorizer struct {
	rules []authzRule
}

type authzRule struct {
	prefix string
	allow  AllowFunc
}

var (
	_ grpc.UnaryServerInterceptor  = (*Authorizer)(nil).Unary
	_ grpc.StreamServerInterceptor = (*Authorizer)(nil).Stream
)

// NewAuthorizer checks policy and builds its Authorizer.
func NewAuthorizer(policy Policy) (*Authorizer, error) {
	if len(policy) == 0 {
		return nil, errors.New("authorization policy is empty: every call would be denied")
	}
	rules := make([]authzRule, 0, len(policy))
	for prefix, allow := range policy {
		if !strings.HasPrefix(prefix, "/") {
			return nil, fmt.Errorf("authorization policy: method prefix %q must start with \"/\"", prefix)
		}
		if allow == nil {
			return nil, fmt.Errorf("authorization policy: method prefix %q has no AllowFunc", prefix)
		}
		rules = append(rules, authzRule{prefix: prefix, allow: allow})
	}
	slices.SortFunc(rules, func(a, b authzRule) int {
		return cmp.Or(cmp.Compare(len(b.prefix), len(a.prefix)), strings.Compare(a.prefix, b.prefix))
	})
	return &Authorizer{rules: rules}, nil
}

// Authorize returns the caller's ID when it may call fullMethod, and
// otherwise a gRPC status error: Unauthenticated without a verified SPIFFE
// identity, PermissionDenied naming the peer and the method.
func (a *Authorizer) Authorize(ctx context.Context, fullMethod string) (ID, error) {
	id, err := PeerID(ctx)
	if err != nil {
		return ID{}, status.Errorf(codes.Unauthenticated, "calling %s: %v", fullMethod, err)
	}
	for _, rule := range a.rules {
		if !strings.HasPrefix(fullMethod, rule.prefix) {
			continue
		}
		if rule.allow(id) {
			return id, nil
		}
		return ID{}, status.Errorf(codes.PermissionDenied, "peer %s may not call %s", id, fullMethod)
	}
	return ID{}, status.Errorf(codes.PermissionDenied, "peer %s may not call %s: no policy covers the method", id, fullMethod)
}

// Unary is a grpc.UnaryServerInterceptor.
func (a *Authorizer) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if _, err := a.Authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is a grpc.StreamServerInterceptor.
func (a *Authorizer) Stream(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if _, err := a.Authorize(stream.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, stream)
}
