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
	"errors"
	"io"
	"time"

	lrs "github.com/envoyproxy/go-control-plane/envoy/service/load_stats/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/serverless-mesh/ssm/pkg/pool/snapshot"
)

// LoadReportInterval is how often pooled Envoys report their load. It must
// stay well below any idle timeout, or a busy lease could expire between
// two reports.
const LoadReportInterval = 10 * time.Second

// loadReports is Envoy's Load Reporting Service. A pooled proxy's report of
// requests it sent to its leased revision's cluster is traffic: it keeps
// the lease alive like a Renew does. Without it, a lease whose traffic
// comes straight from the gateway (which never calls Renew) would be
// reclaimed while busy.
type loadReports struct {
	lrs.UnimplementedLoadReportingServiceServer
	s *Server
}

// StreamLoadStats admits the stream under the same rules as the proxy's ADS
// stream (its identity must be its pool's proxy identity), asks for every
// cluster every LoadReportInterval, and counts each report.
func (l *loadReports) StreamLoadStats(stream lrs.LoadReportingService_StreamLoadStatsServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	node := first.GetNode()
	if node.GetId() == "" {
		return status.Error(codes.InvalidArgument, "load report without a node id")
	}
	pool, err := parsePoolKey(node.GetCluster())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "load report of %s: %v", node.GetId(), err)
	}
	if err := l.s.authorize(peerFromContext(stream.Context()), node.GetId(), pool); err != nil {
		return err
	}
	if err := stream.Send(&lrs.LoadStatsResponse{
		SendAllClusters:       true,
		LoadReportingInterval: durationpb.New(LoadReportInterval),
	}); err != nil {
		return err
	}
	key := nodeKey(node)
	for req := first; ; {
		l.s.noteLoad(key, req)
		if req, err = stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// noteLoad marks the lease of the proxy keyed key active when the report
// shows requests to the leased revision's cluster.
func (s *Server) noteLoad(key string, req *lrs.LoadStatsRequest) {
	served := map[string]bool{}
	for _, cs := range req.GetClusterStats() {
		// A request still running (a long function) is traffic as much as
		// one issued in the interval.
		var active uint64
		for _, ls := range cs.GetUpstreamLocalityStats() {
			active += ls.GetTotalIssuedRequests() + ls.GetTotalRequestsInProgress()
		}
		if active > 0 {
			served[cs.GetClusterName()] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.nodes[key]
	if p != nil && p.lease != nil && p.lease.granted && served[snapshot.ResourceName(p.lease.cfg.Key)] {
		p.lease.lastActivity = s.opts.Clock.Now()
		s.metrics.loadReports.WithLabelValues("busy").Inc()
		return
	}
	s.metrics.loadReports.WithLabelValues("idle").Inc()
}
