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

package pool

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// leasesServer serves the lease API over gRPC. Who may call it is decided
// by the gRPC server's interceptors (see pkg/identity).
type leasesServer struct {
	leaseapi.UnimplementedLeasesServer
	s *Server
}

var _ leaseapi.LeasesServer = (*leasesServer)(nil)

func (g *leasesServer) Lease(ctx context.Context, req *leaseapi.LeaseRequest) (*leaseapi.LeaseResponse, error) {
	key, err := revisionKey(req.GetRevision())
	if err != nil {
		return nil, err
	}
	return g.s.Lease(ctx, key)
}

func (g *leasesServer) Renew(_ context.Context, req *leaseapi.RenewRequest) (*leaseapi.RenewResponse, error) {
	key, err := revisionKey(req.GetRevision())
	if err != nil {
		return nil, err
	}
	return g.s.Renew(key)
}

func (g *leasesServer) Stats(_ context.Context, req *leaseapi.StatsRequest) (*leaseapi.StatsResponse, error) {
	if req.GetPoolNamespace() == "" || req.GetPoolName() == "" {
		return nil, status.Errorf(codes.InvalidArgument, "pool_namespace %q and pool_name %q must both be set",
			req.GetPoolNamespace(), req.GetPoolName())
	}
	return g.s.Stats(revision.PoolKey{Namespace: req.GetPoolNamespace(), Name: req.GetPoolName()}), nil
}

func revisionKey(r *leaseapi.Revision) (revision.Key, error) {
	if r.GetNamespace() == "" || r.GetName() == "" {
		return revision.Key{}, status.Errorf(codes.InvalidArgument,
			"revision namespace %q and name %q must both be set", r.GetNamespace(), r.GetName())
	}
	return revision.Key{Namespace: r.GetNamespace(), Name: r.GetName()}, nil
}
