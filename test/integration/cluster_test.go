//go:build integration

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

// Package integration runs SSM against the real control plane that
// hack/cluster.sh brings up (proof levels L1–L3). hack/integration.sh builds
// the test binary and runs it inside the cluster's network namespace.
package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	istioclientset "istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	networkingclientset "knative.dev/networking/pkg/client/clientset/versioned"
	servingclientset "knative.dev/serving/pkg/client/clientset/versioned"

	ssmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned"
)

// clients reach the local cluster as its admin.
type clients struct {
	kube       kubernetes.Interface
	istio      istioclientset.Interface
	networking networkingclientset.Interface
	serving    servingclientset.Interface
	ssm        ssmclientset.Interface
	// stateDir is hack/cluster.sh's state directory (logs live there).
	stateDir string
}

func newClients(t *testing.T) *clients {
	t.Helper()
	dir := os.Getenv("SSM_CLUSTER_DIR")
	if dir == "" {
		t.Fatal("SSM_CLUSTER_DIR is not set: run the integration tests with hack/integration.sh")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatalf("loading the admin kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return &clients{
		kube:       kubernetes.NewForConfigOrDie(cfg),
		istio:      istioclientset.NewForConfigOrDie(cfg),
		networking: networkingclientset.NewForConfigOrDie(cfg),
		serving:    servingclientset.NewForConfigOrDie(cfg),
		ssm:        ssmclientset.NewForConfigOrDie(cfg),
		stateDir:   dir,
	}
}

// eventually polls cond every 50ms until it returns true or the deadline
// passes; the last error it returned is reported on failure.
func eventually(t *testing.T, what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond(ctx)
		if ok {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not true after %v (last error: %v)", what, timeout, last)
		case <-tick.C:
		}
	}
}
