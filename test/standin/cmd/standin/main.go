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

// Command standin runs test/standin as a pooled proxy of the local cluster
// (hack/cluster.sh, SSM_DATAPLANE=1). TEST-ONLY: it stands in for an Envoy
// where none can run, and never ships.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
	"github.com/serverless-mesh/ssm/test/standin"
)

func main() {
	pool := flag.String("pool", "10.200.0.12:18000", "ssm-pool's address")
	serverName := flag.String("server-name", "ssm-pool.knative-serving.svc", "name ssm-pool's certificate is checked against")
	node := flag.String("node", "", "node id (a pod name)")
	cluster := flag.String("cluster", "knative-serving/default", "the pool, <namespace>/<name>")
	podIP := flag.String("pod-ip", "", "the address stated in the node metadata, where leased traffic is sent")
	identityDir := flag.String("identity", "", "directory with tls.crt, tls.key, ca.crt")
	flag.Parse()
	if *node == "" || *identityDir == "" || *podIP == "" {
		log.Fatal("standin: -node, -pod-ip and -identity are required")
	}
	if err := run(*pool, *serverName, *node, *cluster, *podIP, *identityDir); err != nil {
		log.Fatalf("standin: %v", err)
	}
}

func run(pool, serverName, node, cluster, podIP, identityDir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	id := identity.NewFileSource(identityDir)
	conn, err := grpc.NewClient(pool, grpc.WithTransportCredentials(credentials.NewTLS(identity.ClientConfig(id, serverName))))
	if err != nil {
		return fmt.Errorf("dialing ssm-pool: %w", err)
	}
	defer conn.Close()
	p, err := standin.Start(ctx, standin.Config{
		Conn: conn,
		Node: &corev3.Node{Id: node, Cluster: cluster, Metadata: &structpb.Struct{Fields: map[string]*structpb.Value{
			ssm.PoolProxyPodIPMetadataKey: structpb.NewStringValue(podIP),
		}}},
		Listen: map[uint32]string{
			ssm.PoolProxyPort:       fmt.Sprintf(":%d", ssm.PoolProxyPort),
			ssm.PoolProxyHealthPort: fmt.Sprintf(":%d", ssm.PoolProxyHealthPort),
		},
		Identity: id,
		Logf:     log.Printf,
	})
	if err != nil {
		return err
	}
	log.Printf("standin %s: connected to %s as a proxy of %s at %s", node, pool, cluster, podIP)
	select {
	case <-ctx.Done():
	case <-p.ADS().Done():
		log.Printf("standin %s: ADS stream ended: %v", node, p.ADS().Err())
	}
	_ = p.Close()
	fmt.Fprintln(os.Stderr, "standin: stopped")
	return nil
}
