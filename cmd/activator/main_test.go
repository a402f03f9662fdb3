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
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kelseyhightower/envconfig"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	pkghttp "knative.dev/serving/pkg/http"
)

// Settings read the environment, so these tests cannot run in parallel.
func TestSettings(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		want           settings
		wantAddress    string
		wantServerName string
	}{{
		name: "defaults",
		env:  map[string]string{"POD_NAME": "activator-0", "POD_IP": "127.0.0.1"},
		want: settings{
			PodName: "activator-0", PodIP: "127.0.0.1",
			MaxIdleProxyConns: 1000, MaxIdleProxyConnsPerHost: 100,
			ProbeTimeout: 300 * time.Millisecond, ProbeFrequency: 200 * time.Millisecond,
			SSMIdentityDir:   "/var/run/ssm/identity",
			SSMLeaseDeadline: 500 * time.Millisecond, SSMRenewInterval: 30 * time.Second,
			SSMIdlePeriod: 60 * time.Second, SSMLeaseTTL: 270 * time.Second,
		},
		wantAddress:    "ssm-pool.knative-serving.svc:18000",
		wantServerName: "ssm-pool.knative-serving.svc",
	}, {
		name: "overridden",
		env: map[string]string{"POD_NAME": "activator-0", "POD_IP": "127.0.0.1",
			"PROBE_TIMEOUT": "1s", "SSM_POOL_ADDRESS": "127.0.0.1:18000", "SSM_POOL_SERVER_NAME": "pool.test",
			"SSM_IDENTITY_DIR": "/id", "SSM_LEASE_DEADLINE": "250ms"},
		want: settings{
			PodName: "activator-0", PodIP: "127.0.0.1",
			MaxIdleProxyConns: 1000, MaxIdleProxyConnsPerHost: 100,
			ProbeTimeout: time.Second, ProbeFrequency: 200 * time.Millisecond,
			SSMPoolAddress: "127.0.0.1:18000", SSMPoolServerName: "pool.test",
			SSMIdentityDir:   "/id",
			SSMLeaseDeadline: 250 * time.Millisecond, SSMRenewInterval: 30 * time.Second,
			SSMIdlePeriod: 60 * time.Second, SSMLeaseTTL: 270 * time.Second,
		},
		wantAddress:    "127.0.0.1:18000",
		wantServerName: "pool.test",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var got settings
			if err := envconfig.Process("", &got); err != nil {
				t.Fatalf("envconfig.Process: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
			address, serverName := got.poolEndpoint("knative-serving")
			if address != tc.wantAddress || serverName != tc.wantServerName {
				t.Errorf("poolEndpoint = %q, %q; want %q, %q", address, serverName, tc.wantAddress, tc.wantServerName)
			}
		})
	}
}

func TestRevisionTimeouts(t *testing.T) {
	t.Parallel()
	ptr := func(v int64) *int64 { return &v }
	tests := []struct {
		name                             string
		spec                             servingv1.RevisionSpec
		wantRequest, wantStart, wantIdle time.Duration
	}{{
		name:        "all set",
		spec:        servingv1.RevisionSpec{TimeoutSeconds: ptr(30), ResponseStartTimeoutSeconds: ptr(5), IdleTimeoutSeconds: ptr(7)},
		wantRequest: 30 * time.Second, wantStart: 5 * time.Second, wantIdle: 7 * time.Second,
	}, {
		name:        "none set",
		wantRequest: 300 * time.Second,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rev := &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}, Spec: tc.spec}
			req := httptest.NewRequest(http.MethodGet, "http://r.ns/", nil)
			req = req.WithContext(activatorhandler.WithRevisionAndID(req.Context(), rev, types.NamespacedName{Namespace: "ns", Name: "r"}))
			request, start, idle := revisionTimeouts(req)
			if request != tc.wantRequest || start != tc.wantStart || idle != tc.wantIdle {
				t.Errorf("revisionTimeouts = %v, %v, %v; want %v, %v, %v", request, start, idle, tc.wantRequest, tc.wantStart, tc.wantIdle)
			}
		})
	}
}

func TestLogRevision(t *testing.T) {
	t.Parallel()
	rev := &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "hello-00001",
		Labels: map[string]string{"serving.knative.dev/configuration": "hello", "serving.knative.dev/service": "hello-svc"}}}
	want := &pkghttp.RequestLogRevision{Namespace: "ns", Name: "hello-00001", Configuration: "hello", Service: "hello-svc"}
	if diff := cmp.Diff(want, logRevision(rev)); diff != "" {
		t.Errorf("logRevision (-want +got):\n%s", diff)
	}
}
