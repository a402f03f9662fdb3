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
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	networkingcfg "knative.dev/networking/pkg/config"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints/fake"
	_ "knative.dev/pkg/client/injection/kube/informers/core/v1/service/fake"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	pkgnet "knative.dev/pkg/network"
	activatornet "knative.dev/serving/pkg/activator/net"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	fakeservingclient "knative.dev/serving/pkg/client/injection/client/fake"
	revisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision"
	_ "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision/fake"
	servingnetworking "knative.dev/serving/pkg/networking"
)

// benchNamespace holds the bench's revisions.
const benchNamespace = "bench"

// revisionSpec is one revision the bench serves and where its one pod is.
type revisionSpec struct {
	name        string
	annotations map[string]string
	// pod is the pod's address as the private Endpoints list it.
	pod string
}

// knative is Knative's view of the bench's revisions: fake clients and real
// informers over them, injected into ctx as the activator's main does with
// real ones, and Knative's throttler following them.
type knative struct {
	ctx       context.Context
	throttler *activatornet.Throttler
}

// startKnative starts the informers, creates the revisions and their
// private Endpoints (one ready pod each), and runs Knative's throttler until
// ctx ends. It returns once the throttler has probed every pod ready.
func startKnative(ctx context.Context, logger *zap.SugaredLogger, revisions []revisionSpec) (*knative, error) {
	ctx = logging.WithLogger(ctx, logger)
	ctx, informers := injection.Fake.SetupInformers(ctx, &rest.Config{})
	if err := controller.StartInformers(ctx.Done(), informers...); err != nil {
		return nil, fmt.Errorf("starting the informers: %w", err)
	}
	// Knative's activator probes with the transport it proxies with; so
	// does this one.
	probeTransport := pkgnet.NewProxyAutoTransport(maxIdleProxyConns, maxIdleProxyConnsPerHost)
	throttler := activatornet.NewThrottler(ctx, "127.0.0.1")
	go throttler.Run(ctx, probeTransport, false /* no passthrough LB */, networkingcfg.MeshCompatibilityModeDisabled)

	for i, r := range revisions {
		if err := createRevision(ctx, r, i); err != nil {
			return nil, err
		}
	}
	k := &knative{ctx: ctx, throttler: throttler}
	for _, r := range revisions {
		if err := k.waitReady(ctx, r.name); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// createRevision writes a revision as Knative's controller leaves a ready
// one with a pod: the Revision (container concurrency 0, Knative's default)
// and its private Endpoints.
func createRevision(ctx context.Context, r revisionSpec, i int) error {
	host, port, err := net.SplitHostPort(r.pod)
	if err != nil {
		return fmt.Errorf("revision %s: pod address %q: %w", r.name, r.pod, err)
	}
	portNumber, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("revision %s: pod port %q: %w", r.name, port, err)
	}
	uid := types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1))
	zero, timeout := int64(0), int64(300)
	rev := &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: benchNamespace, Name: r.name, UID: uid, Annotations: r.annotations,
			Labels: map[string]string{serving.ConfigurationLabelKey: r.name, serving.ServiceLabelKey: r.name},
		},
		Spec: servingv1.RevisionSpec{
			ContainerConcurrency: &zero,
			TimeoutSeconds:       &timeout,
			PodSpec:              corev1.PodSpec{Containers: []corev1.Container{{Image: "function"}}},
		},
	}
	if _, err := fakeservingclient.Get(ctx).ServingV1().Revisions(benchNamespace).Create(ctx, rev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating revision %s: %w", r.name, err)
	}
	endpoints := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: benchNamespace, Name: r.name + "-private",
			Labels: map[string]string{
				serving.RevisionLabelKey:         r.name,
				serving.RevisionUID:              string(uid),
				servingnetworking.ServiceTypeKey: string(servingnetworking.ServiceTypePrivate),
			},
		},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: int32(portNumber)}}, //nolint:gosec // a port
		}},
	}
	if _, err := fakekubeclient.Get(ctx).CoreV1().Endpoints(benchNamespace).Create(ctx, endpoints, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating endpoints of %s: %w", r.name, err)
	}
	return nil
}

// waitReady polls until the revision is in the informer and the throttler
// hands out its pod, or a deadline passes.
func (k *knative) waitReady(ctx context.Context, name string) error {
	revID := types.NamespacedName{Namespace: benchNamespace, Name: name}
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if _, err := revisioninformer.Get(k.ctx).Lister().Revisions(benchNamespace).Get(name); err != nil {
			last = err
		} else {
			tryCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			last = k.throttler.Try(tryCtx, revID, func(string, bool) error { return nil })
			cancel()
			if last == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("revision %s: Knative's throttler has no ready pod after 15s: %w", revID, last)
}
