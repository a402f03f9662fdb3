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
	"net/http"
	"path/filepath"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"k8s.io/apimachinery/pkg/types"
)

type stockThrottler struct{}

func (stockThrottler) Try(context.Context, types.NamespacedName, func(string, bool) error) error {
	return nil
}

// The hook stays off, with one warning, when it cannot work. Not parallel:
// system.Namespace reads the environment.
func TestLeaseHookDisabled(t *testing.T) {
	tests := []struct {
		name        string
		internalTLS bool
		identityDir string
		wantLog     string
	}{{
		name:        "system-internal-tls",
		internalTLS: true,
		identityDir: t.TempDir(),
		wantLog:     "SSM lease hook disabled: system-internal-tls is on; Knative's path serves every request",
	}, {
		name:        "no identity mounted",
		identityDir: filepath.Join(t.TempDir(), "missing"),
		wantLog:     "SSM lease hook disabled; Knative's path serves every request",
	}}
	t.Setenv("SYSTEM_NAMESPACE", "knative-serving")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			stock := stockPath(stockThrottler{}, http.DefaultTransport)
			got := withLeaseHook(context.Background(), zap.New(core).Sugar(), settings{SSMIdentityDir: tc.identityDir},
				stock, tc.internalTLS, metricnoop.NewMeterProvider(), tracenoop.NewTracerProvider())
			if _, ok := got.throttler.(stockThrottler); !ok {
				t.Errorf("throttler is %T, want the stock one", got.throttler)
			}
			entries := logs.All()
			if len(entries) != 1 || entries[0].Message != tc.wantLog || entries[0].Level != zapcore.WarnLevel {
				t.Errorf("log = %v, want one warning %q", entries, tc.wantLog)
			}
		})
	}
}
