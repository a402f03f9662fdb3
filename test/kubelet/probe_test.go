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

package kubelet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ready" && r.Host == "probe.example" && r.Header.Get("User-Agent") == "kube-probe/1.35":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	plain := httptest.NewServer(handler)
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(handler)
	t.Cleanup(secure.Close)
	port := func(s *httptest.Server) int {
		_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
		n, _ := strconv.Atoi(p)
		return n
	}
	get := func(path string, p intstr.IntOrString, scheme corev1.URIScheme) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: p, Scheme: scheme, HTTPHeaders: []corev1.HTTPHeader{{Name: "Host", Value: "probe.example"}},
		}}}
	}
	tests := []struct {
		name   string
		c      corev1.Container
		wantOK bool
		want   error
	}{
		{name: "no probe", c: corev1.Container{}, wantOK: true},
		{name: "HTTP on a named port", wantOK: true, c: corev1.Container{
			Ports:          []corev1.ContainerPort{{Name: "probes", ContainerPort: int32(port(plain))}},
			ReadinessProbe: get("/ready", intstr.FromString("probes"), ""),
		}},
		{name: "HTTPS, certificate not verified", wantOK: true, c: corev1.Container{
			ReadinessProbe: get("/ready", intstr.FromInt(port(secure)), corev1.URISchemeHTTPS),
		}},
		{name: "a redirect is a pass, not followed", wantOK: true, c: corev1.Container{
			ReadinessProbe: get("/moved", intstr.FromInt(port(plain)), ""),
		}},
		{name: "503 fails", c: corev1.Container{ReadinessProbe: get("/other", intstr.FromInt(port(plain)), "")}},
		{name: "unknown named port fails", c: corev1.Container{ReadinessProbe: get("/ready", intstr.FromString("nope"), "")}},
		{name: "exec probe is not run", want: ErrUnsupportedProbe, c: corev1.Container{
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Probe(context.Background(), ProbeClient(), &tc.c, "127.0.0.1")
			switch {
			case tc.wantOK && err != nil:
				t.Errorf("Probe() = %v, want pass", err)
			case !tc.wantOK && err == nil:
				t.Error("Probe() passed, want a failure")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Probe() = %v, want %v", err, tc.want)
			}
		})
	}
}
