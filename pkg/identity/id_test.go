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

package identity

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

func TestParseID(t *testing.T) {
	t.Parallel()
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		uri     string
		want    ID
		wantErr string
	}{{
		name: "pool server",
		uri:  "spiffe://cluster.local/ns/knative-serving/sa/ssm-pool",
		want: ID{TrustDomain: "cluster.local", Namespace: "knative-serving", ServiceAccount: "ssm-pool"},
	}, {
		name: "service account with dots, trust domain with underscore",
		uri:  "spiffe://my_domain-1.example/ns/" + long63 + "/sa/a.b-c",
		want: ID{TrustDomain: "my_domain-1.example", Namespace: long63, ServiceAccount: "a.b-c"},
	}, {
		name:    "empty",
		uri:     "",
		wantErr: `SPIFFE ID "": must start with "spiffe://"`,
	}, {
		name:    "other scheme",
		uri:     "https://cluster.local/ns/a/sa/b",
		wantErr: `SPIFFE ID "https://cluster.local/ns/a/sa/b": must start with "spiffe://"`,
	}, {
		name:    "upper-case scheme",
		uri:     "SPIFFE://cluster.local/ns/a/sa/b",
		wantErr: `must start with "spiffe://"`,
	}, {
		name:    "no path",
		uri:     "spiffe://cluster.local",
		wantErr: `SPIFFE ID "spiffe://cluster.local": has no path, want /ns/<namespace>/sa/<serviceaccount>`,
	}, {
		name:    "root path",
		uri:     "spiffe://cluster.local/",
		wantErr: `path "/" is not ns/<namespace>/sa/<serviceaccount>`,
	}, {
		name:    "trailing slash",
		uri:     "spiffe://cluster.local/ns/a/sa/b/",
		wantErr: `path "/ns/a/sa/b/" is not ns/<namespace>/sa/<serviceaccount>`,
	}, {
		name:    "segments swapped",
		uri:     "spiffe://cluster.local/sa/b/ns/a",
		wantErr: `path "/sa/b/ns/a" is not ns/<namespace>/sa/<serviceaccount>`,
	}, {
		name:    "extra segments",
		uri:     "spiffe://cluster.local/ns/a/sa/b/c/d",
		wantErr: `path "/ns/a/sa/b/c/d" is not ns/<namespace>/sa/<serviceaccount>`,
	}, {
		name:    "empty trust domain",
		uri:     "spiffe:///ns/a/sa/b",
		wantErr: `SPIFFE ID "spiffe:///ns/a/sa/b": trust domain is empty`,
	}, {
		name:    "upper-case trust domain",
		uri:     "spiffe://Cluster.local/ns/a/sa/b",
		wantErr: `trust domain "Cluster.local": character 'C' not allowed, only a-z, 0-9, '.', '-' and '_'`,
	}, {
		name:    "port",
		uri:     "spiffe://cluster.local:8080/ns/a/sa/b",
		wantErr: `trust domain "cluster.local:8080": character ':' not allowed`,
	}, {
		name:    "user info",
		uri:     "spiffe://user@cluster.local/ns/a/sa/b",
		wantErr: `trust domain "user@cluster.local": character '@' not allowed`,
	}, {
		name:    "trust domain too long",
		uri:     "spiffe://" + strings.Repeat("a", 256) + "/ns/a/sa/b",
		wantErr: "trust domain is 256 characters long, at most 255 allowed",
	}, {
		name:    "empty namespace",
		uri:     "spiffe://cluster.local/ns//sa/b",
		wantErr: `namespace "": a lowercase RFC 1123 label must consist of`,
	}, {
		name:    "upper-case namespace",
		uri:     "spiffe://cluster.local/ns/Default/sa/b",
		wantErr: `namespace "Default": a lowercase RFC 1123 label`,
	}, {
		name:    "namespace too long",
		uri:     "spiffe://cluster.local/ns/" + long63 + "a/sa/b",
		wantErr: "must be no more than 63 characters",
	}, {
		name:    "percent-encoded namespace",
		uri:     "spiffe://cluster.local/ns/a%2Fb/sa/c",
		wantErr: `namespace "a%2Fb"`,
	}, {
		name:    "query",
		uri:     "spiffe://cluster.local/ns/a/sa/b?x=1",
		wantErr: `service account "b?x=1": a lowercase RFC 1123 subdomain`,
	}, {
		name:    "fragment",
		uri:     "spiffe://cluster.local/ns/a/sa/b#f",
		wantErr: `service account "b#f"`,
	}, {
		name:    "dot-dot service account",
		uri:     "spiffe://cluster.local/ns/a/sa/..",
		wantErr: `service account ".."`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseID(tt.uri)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseID(%q) error = %v, want it to contain %q", tt.uri, err, tt.wantErr)
				}
				if got != (ID{}) {
					t.Errorf("ParseID(%q) = %+v with an error, want the zero ID", tt.uri, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tt.uri, err)
			}
			if got != tt.want {
				t.Errorf("ParseID(%q) = %+v, want %+v", tt.uri, got, tt.want)
			}
			if got.String() != tt.uri {
				t.Errorf("ParseID(%q).String() = %q, want the input back", tt.uri, got.String())
			}
		})
	}
}

func TestIDString(t *testing.T) {
	t.Parallel()
	got := NewID("cluster.local", "demo", "ssm-proxy").String()
	if want := "spiffe://cluster.local/ns/demo/sa/ssm-proxy"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestOwnID(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 24*time.Hour)
	certPEM, keyPEM := mustIssue(t, ca, t0, LeafSpec{ID: NewID("mesh.example", "ns", "fn"), Validity: time.Hour, Client: true})
	id, err := OwnID(mustStaticSource(t, certPEM, keyPEM, ca))
	if err != nil || id != NewID("mesh.example", "ns", "fn") {
		t.Errorf("OwnID = %v, %v; want spiffe://mesh.example/ns/ns/sa/fn", id, err)
	}
	if _, err := OwnID(mustStaticSource(t, nil, nil, ca)); err == nil || !strings.Contains(err.Error(), "none loaded") {
		t.Errorf("OwnID without a certificate = %v, want an error saying none is loaded", err)
	}
	if _, err := OwnID(staticSource{cert: &tls.Certificate{Certificate: [][]byte{ca.Certificate().Raw}}}); err == nil ||
		!strings.Contains(err.Error(), "0 URI SANs") {
		t.Errorf("OwnID of a certificate without a SPIFFE ID = %v, want an error counting its URI SANs", err)
	}
}
