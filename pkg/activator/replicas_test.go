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
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/serverless-mesh/ssm/pkg/pool/leaseapi"
)

// replica is one ssm-pool replica: it answers every Lease with answer,
// remembers the revisions it granted, and renews only those (NotFound
// otherwise), as ssm-pool does.
type replica struct {
	leaseapi.UnimplementedLeasesServer
	answer *leaseapi.LeaseResponse

	mu         sync.Mutex
	granted    map[string]bool
	leaseCalls atomic.Int32
	renewCalls atomic.Int32
}

func (r *replica) Lease(_ context.Context, req *leaseapi.LeaseRequest) (*leaseapi.LeaseResponse, error) {
	r.leaseCalls.Add(1)
	if r.answer.GetOutcome() == leaseapi.LeaseResponse_GRANTED {
		r.mu.Lock()
		if r.granted == nil {
			r.granted = map[string]bool{}
		}
		r.granted[req.GetRevision().GetName()] = true
		r.mu.Unlock()
	}
	return r.answer, nil
}

func (r *replica) Renew(_ context.Context, req *leaseapi.RenewRequest) (*leaseapi.RenewResponse, error) {
	r.renewCalls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.granted[req.GetRevision().GetName()] {
		return nil, status.Error(codes.NotFound, "no lease")
	}
	return &leaseapi.RenewResponse{Proxies: []string{r.answer.GetProxy()}}, nil
}

// replicaServer starts a Leases server and returns its address.
func replicaServer(t *testing.T, srv leaseapi.LeasesServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	leaseapi.RegisterLeasesServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func insecureDial(address string) (*grpc.ClientConn, error) {
	return grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func leaseReq(name string) *leaseapi.LeaseRequest {
	return &leaseapi.LeaseRequest{Revision: &leaseapi.Revision{Namespace: "ns", Name: name}}
}

// TestPoolReplicasSpreadLeases: with two ssm-pool replicas, leases of many
// revisions reach both, each revision always the same one, and a renewal
// goes to the replica that granted.
func TestPoolReplicasSpreadLeases(t *testing.T) {
	t.Parallel()
	a := &replica{answer: granted("10.0.0.1:8081")}
	b := &replica{answer: granted("10.0.0.2:8081")}
	addrA, addrB := replicaServer(t, a), replicaServer(t, b)
	p := NewPoolReplicas(func() []string { return []string{addrA, addrB} }, "unused:1", insecureDial)
	t.Cleanup(p.Close)
	ctx := context.Background()

	first := map[string]string{}
	for round := range 2 {
		for i := range 20 {
			name := fmt.Sprintf("fn-%d", i)
			resp, err := p.Lease(ctx, leaseReq(name))
			if err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
				t.Fatalf("Lease(%s) = %v, %v", name, resp, err)
			}
			if round == 0 {
				first[name] = resp.GetAddress()
			} else if resp.GetAddress() != first[name] {
				t.Errorf("Lease(%s) went to %s, earlier to %s", name, resp.GetAddress(), first[name])
			}
		}
	}
	if a.leaseCalls.Load() == 0 || b.leaseCalls.Load() == 0 {
		t.Errorf("leases per replica: %d and %d, want both used", a.leaseCalls.Load(), b.leaseCalls.Load())
	}
	for name := range first {
		if _, err := p.Renew(ctx, &leaseapi.RenewRequest{Revision: &leaseapi.Revision{Namespace: "ns", Name: name}}); err != nil {
			t.Errorf("Renew(%s) = %v, want the granting replica's answer", name, err)
		}
	}
	// The granting replica is first in each revision's order: one Renew
	// call per revision, none to the other replica.
	if got := a.renewCalls.Load() + b.renewCalls.Load(); got != int32(len(first)) {
		t.Errorf("%d Renew calls for %d revisions, want one each", got, len(first))
	}
	if _, err := p.Renew(ctx, &leaseapi.RenewRequest{Revision: &leaseapi.Revision{Namespace: "ns", Name: "never-leased"}}); status.Code(err) != codes.NotFound {
		t.Errorf("Renew of a revision no replica granted: %v, want NotFound", err)
	}
	// With one replica down, a lease it did not grant is still renewed at
	// the other; one it may hold is kept (Unavailable, not NotFound).
	down := downPoolAddress(t)
	p2 := NewPoolReplicas(func() []string { return []string{down, addrA} }, "unused:1", insecureDial)
	t.Cleanup(p2.Close)
	for name, proxy := range first {
		_, err := p2.Renew(ctx, &leaseapi.RenewRequest{Revision: &leaseapi.Revision{Namespace: "ns", Name: name}})
		switch {
		case proxy == "10.0.0.1:8081" && err != nil:
			t.Errorf("Renew(%s) with the other replica down = %v, want the granting replica's answer", name, err)
		case proxy != "10.0.0.1:8081" && status.Code(err) != codes.Unavailable:
			t.Errorf("Renew(%s), granted by the replica that is down = %v, want Unavailable", name, err)
		}
	}
}

// TestPoolReplicasPassOn: a replica without a warm proxy, or down, passes
// the Lease to the next; an answer that holds everywhere (NOT_POOLED) does
// not.
func TestPoolReplicasPassOn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		other       *replica // nil: the other replica is down
		wantOutcome leaseapi.LeaseResponse_Outcome
		wantCalls   int32 // Lease calls the granting replica gets
	}{
		{"other replica exhausted", &replica{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_EXHAUSTED}}, leaseapi.LeaseResponse_GRANTED, 20},
		{"other replica has no warm proxy", &replica{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NO_WARM_PROXY}}, leaseapi.LeaseResponse_GRANTED, 20},
		{"other replica down", nil, leaseapi.LeaseResponse_GRANTED, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			good := &replica{answer: granted("10.0.0.1:8081")}
			goodAddr := replicaServer(t, good)
			otherAddr := downPoolAddress(t)
			if tc.other != nil {
				otherAddr = replicaServer(t, tc.other)
			}
			p := NewPoolReplicas(func() []string { return []string{otherAddr, goodAddr} }, "unused:1", insecureDial)
			t.Cleanup(p.Close)
			for i := range 20 {
				resp, err := p.Lease(context.Background(), leaseReq(fmt.Sprintf("fn-%d", i)))
				if err != nil || resp.GetOutcome() != tc.wantOutcome {
					t.Fatalf("Lease = %v, %v; want %v", resp, err, tc.wantOutcome)
				}
			}
			if got := good.leaseCalls.Load(); got != tc.wantCalls {
				t.Errorf("the replica with proxies got %d Lease calls, want %d", got, tc.wantCalls)
			}
			// Renewals find the replica that granted, past the other one.
			for i := range 20 {
				name := fmt.Sprintf("fn-%d", i)
				if _, err := p.Renew(context.Background(), &leaseapi.RenewRequest{Revision: &leaseapi.Revision{Namespace: "ns", Name: name}}); err != nil {
					t.Errorf("Renew(%s) = %v", name, err)
				}
			}
			if got := good.renewCalls.Load(); got != 20 {
				t.Errorf("the granting replica got %d Renew calls, want 20", got)
			}
		})
	}

	notPooled := &replica{answer: &leaseapi.LeaseResponse{Outcome: leaseapi.LeaseResponse_NOT_POOLED}}
	p := NewPoolReplicas(func() []string { return []string{replicaServer(t, notPooled), replicaServer(t, notPooled)} }, "unused:1", insecureDial)
	t.Cleanup(p.Close)
	for i := range 10 {
		if resp, err := p.Lease(context.Background(), leaseReq(fmt.Sprintf("fn-%d", i))); err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_NOT_POOLED {
			t.Fatalf("Lease = %v, %v; want NOT_POOLED", resp, err)
		}
	}
	if got := notPooled.leaseCalls.Load(); got != 10 {
		t.Errorf("NOT_POOLED asked %d replicas for 10 revisions, want one each", got)
	}
}

// TestPoolReplicasFallback: with no replica listed, the Service address is
// used.
func TestPoolReplicasFallback(t *testing.T) {
	t.Parallel()
	srv := &replica{answer: granted("10.0.0.1:8081")}
	p := NewPoolReplicas(func() []string { return nil }, replicaServer(t, srv), insecureDial)
	t.Cleanup(p.Close)
	if resp, err := p.Lease(context.Background(), leaseReq("fn")); err != nil || resp.GetOutcome() != leaseapi.LeaseResponse_GRANTED {
		t.Fatalf("Lease = %v, %v", resp, err)
	}
}
