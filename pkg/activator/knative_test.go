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
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	netcfg "knative.dev/networking/pkg/config"
	fakekubeclient "knative.dev/pkg/client/injection/kube/client/fake"
	fakeendpointsinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/endpoints/fake"
	fakeserviceinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/service/fake"
	rtesting "knative.dev/pkg/reconciler/testing"
	activatornet "knative.dev/serving/pkg/activator/net"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	fakeservingclient "knative.dev/serving/pkg/client/injection/client/fake"
	fakerevisioninformer "knative.dev/serving/pkg/client/injection/informers/serving/v1/revision/fake"
	servinglisters "knative.dev/serving/pkg/client/listers/serving/v1"
	"knative.dev/serving/pkg/networking"
)

// roundTripperFunc answers the throttler's readiness probes.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// queueProbeAnswer is what a ready queue-proxy answers Knative's probe.
func queueProbeAnswer(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Request: r, Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("queue")),
	}, nil
}

// knativeThrottler is Knative's own throttler (activator/net) with
// pooledRev stamped sidecar-less for a pool, at containerConcurrency cc,
// backed by one ready pod at podAddr. It returns the revision lister it
// reads, which the hook reads too, once the throttler hands out capacity.
func knativeThrottler(t *testing.T, cc int64, podAddr string) (*activatornet.Throttler, servinglisters.RevisionLister) {
	t.Helper()
	return knativeThrottlerFor(t, cc, podAddr, stampedSidecarless)
}

// knativeThrottlerFor is knativeThrottler with pooledRev carrying
// annotations.
func knativeThrottlerFor(t *testing.T, cc int64, podAddr string, annotations map[string]string) (*activatornet.Throttler, servinglisters.RevisionLister) {
	t.Helper()
	ctx, cancel, _ := rtesting.SetupFakeContextWithCancel(t)
	rev := &servingv1.Revision{
		ObjectMeta: metav1.ObjectMeta{Namespace: pooledRev.Namespace, Name: pooledRev.Name,
			Annotations: annotations},
		Spec: servingv1.RevisionSpec{ContainerConcurrency: &cc},
	}
	revisions := fakerevisioninformer.Get(ctx)
	endpoints := fakeendpointsinformer.Get(ctx)
	services := fakeserviceinformer.Get(ctx)
	if _, err := fakeservingclient.Get(ctx).ServingV1().Revisions(rev.Namespace).Create(ctx, rev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	throttler := activatornet.NewThrottler(ctx, "10.0.0.1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		throttler.Run(ctx, roundTripperFunc(queueProbeAnswer), false, netcfg.MeshCompatibilityModeDisabled)
	}()
	waitInformers, err := rtesting.RunAndSyncInformers(ctx, revisions.Informer(), endpoints.Informer(), services.Informer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		waitInformers()
		<-done
	})
	host, portText, err := net.SplitHostPort(podAddr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	eps := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Namespace: rev.Namespace, Name: rev.Name + "-private", Labels: map[string]string{
			serving.RevisionUID:       "uid-1",
			serving.RevisionLabelKey:  rev.Name,
			networking.ServiceTypeKey: string(networking.ServiceTypePrivate),
		}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: int32(port)}},
		}},
	}
	if _, err := fakekubeclient.Get(ctx).CoreV1().Endpoints(rev.Namespace).Create(ctx, eps, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Knative's throttler to have capacity for the pod", func() bool {
		tctx, tcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer tcancel()
		return throttler.Try(tctx, pooledRev, func(string, bool) error { return nil }) == nil
	})
	return throttler, revisions.Lister()
}
