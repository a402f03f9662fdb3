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

package comparison

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
	"time"
)

func TestLoadValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    Load
		wantErr string
	}{
		{name: "defaults", want: Load{Clients: []int{1, 16}, Requests: 3000, Warmup: 300, Rounds: 15, Timeout: 5 * time.Minute}},
		{name: "every flag at a bound",
			args: []string{"-clients", " 1, 256 ", "-requests", "100", "-warmup", "0", "-rounds", "50", "-timeout", "1ns"},
			want: Load{Clients: []int{1, 256}, Requests: 100, Warmup: 0, Rounds: 50, Timeout: time.Nanosecond}},
		{name: "upper bounds", args: []string{"-clients", "4", "-requests", "200000", "-warmup", "200000", "-rounds", "1"},
			want: Load{Clients: []int{4}, Requests: 200000, Warmup: 200000, Rounds: 1, Timeout: 5 * time.Minute}},
		{name: "zero clients", args: []string{"-clients", "0"}, wantErr: `-clients "0": want numbers 1..256`},
		{name: "too many clients", args: []string{"-clients", "1,257"}, wantErr: `-clients "1,257": want numbers 1..256`},
		{name: "clients not a number", args: []string{"-clients", "1,x"}, wantErr: `-clients "1,x": want numbers 1..256`},
		{name: "empty clients", args: []string{"-clients", ""}, wantErr: `-clients "": want numbers 1..256`},
		{name: "clients before requests", args: []string{"-clients", "0", "-requests", "1"}, wantErr: `-clients "0": want numbers 1..256`},
		{name: "too few requests", args: []string{"-requests", "99"}, wantErr: "-requests 99: want 100..200000"},
		{name: "too many requests", args: []string{"-requests", "200001"}, wantErr: "-requests 200001: want 100..200000"},
		{name: "negative warm-up", args: []string{"-warmup", "-1"}, wantErr: "-warmup -1: want 0..200000"},
		{name: "too much warm-up", args: []string{"-warmup", "200001"}, wantErr: "-warmup 200001: want 0..200000"},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds 0: want 1..50"},
		{name: "too many rounds", args: []string{"-rounds", "51"}, wantErr: "-rounds 51: want 1..50"},
		{name: "zero timeout", args: []string{"-timeout", "0s"}, wantErr: "-timeout must be positive"},
		{name: "negative timeout", args: []string{"-timeout", "-1m"}, wantErr: "-timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var l Load
			l.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			err := l.Validate()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !slices.Equal(l.Clients, tt.want.Clients) || l.Requests != tt.want.Requests || l.Warmup != tt.want.Warmup ||
				l.Rounds != tt.want.Rounds || l.Timeout != tt.want.Timeout {
				t.Errorf("Validate() left %+v, want %+v", l, tt.want)
			}
		})
	}
}

func TestLoadRun(t *testing.T) {
	t.Parallel()
	broken := errors.New("port in use")
	tests := []struct {
		name       string
		bench      func(context.Context) error
		wantCode   int
		wantStderr string
	}{
		{name: "success", bench: func(context.Context) error { return nil }, wantCode: 0},
		{name: "failure", bench: func(context.Context) error { return broken }, wantCode: 1, wantStderr: "bench: port in use\n"},
		{name: "the timeout ends the context", wantCode: 1, wantStderr: "bench: context deadline exceeded\n",
			bench: func(ctx context.Context) error {
				// Bounded by the test binary's own timeout if Run did not
				// apply l.Timeout.
				<-ctx.Done()
				return ctx.Err()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := Load{Timeout: 10 * time.Millisecond}.Run("bench", &stderr, tt.bench)
			if code != tt.wantCode || stderr.String() != tt.wantStderr {
				t.Errorf("Run = %d with stderr %q, want %d with %q", code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}
