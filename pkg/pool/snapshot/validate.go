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

package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/serverless-mesh/ssm/pkg/pool/envoy"
	"github.com/serverless-mesh/ssm/pkg/pool/revision"
)

// ErrInvalid is wrapped by every error about unusable Options or an
// unusable revision.Config.
var ErrInvalid = errors.New("invalid proxy configuration")

// defaultServiceAccount is the account of pods that name none.
const defaultServiceAccount = "default"

// validConfig is a revision.Config checked and converted to what Envoy's
// protos take: unsigned counts, normalised retry conditions, endpoints sorted
// and de-duplicated.
type validConfig struct {
	key            revision.Key
	serviceAccount string

	timeout       time.Duration
	retries       uint32
	retryOn       string
	perTryTimeout time.Duration

	maxConnections           uint32
	maxPendingRequests       uint32
	maxRequestsPerConnection uint32
	idleTimeout              time.Duration
	ejection                 envoy.GatewayEjection

	endpoints []envoy.Endpoint
	// http2: the revision's port is named for HTTP/2 (h2c).
	http2 bool
}

func validateOptions(o Options) error {
	var errs []error
	if o.ProxyPort == 0 || o.ProxyPort > 65535 {
		errs = append(errs, fmt.Errorf("ProxyPort %d is not a port", o.ProxyPort))
	}
	if o.HealthPort == 0 || o.HealthPort > 65535 {
		errs = append(errs, fmt.Errorf("HealthPort %d is not a port", o.HealthPort))
	}
	if o.ProxyPort == o.HealthPort {
		errs = append(errs, fmt.Errorf("ProxyPort and HealthPort are both %d", o.ProxyPort))
	}
	if !isTrustDomain(o.TrustDomain) {
		errs = append(errs, fmt.Errorf("TrustDomain %q is not a SPIFFE trust domain", o.TrustDomain))
	}
	if o.IdentitySecret == "" {
		errs = append(errs, errors.New("IdentitySecret is empty"))
	}
	if o.TrustBundleSecret == "" {
		errs = append(errs, errors.New("TrustBundleSecret is empty"))
	}
	if !path.IsAbs(o.SecretDirectory) {
		errs = append(errs, fmt.Errorf("SecretDirectory %q is not an absolute path", o.SecretDirectory))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: snapshot options: %s", ErrInvalid, joinErrors(errs))
	}
	return nil
}

// isTrustDomain allows the characters SPIFFE allows in a trust domain.
func isTrustDomain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validateConfig checks every field ForRevision uses. Key and service
// account must be Kubernetes names because they are spelled into resource
// names, the SNI and the SPIFFE ID the proxy accepts: a "/" there could make
// one revision's proxy accept another's identity.
func validateConfig(c revision.Config) (validConfig, error) {
	var errs []error
	field := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	for _, msg := range validation.IsDNS1123Label(c.Key.Namespace) {
		field("Key.Namespace", "%q: %s", c.Key.Namespace, msg)
	}
	for _, msg := range validation.IsDNS1123Subdomain(c.Key.Name) {
		field("Key.Name", "%q: %s", c.Key.Name, msg)
	}
	v := validConfig{key: c.Key, serviceAccount: c.ServiceAccount, http2: c.PortName == revision.PortNameHTTP2}
	if v.serviceAccount == "" {
		v.serviceAccount = defaultServiceAccount
	}
	for _, msg := range validation.IsDNS1123Subdomain(v.serviceAccount) {
		field("ServiceAccount", "%q: %s", c.ServiceAccount, msg)
	}

	p := c.Policy
	nonNegativeDuration := func(name string, d time.Duration) time.Duration {
		if d < 0 {
			field(name, "%v is negative", d)
			return 0
		}
		return d
	}
	count := func(name string, n int32) uint32 {
		if n < 0 {
			field(name, "%d is negative", n)
			return 0
		}
		return uint32(n)
	}
	v.timeout = nonNegativeDuration("Policy.Timeout", p.Timeout)
	v.retries = count("Policy.Retries", p.Retries)
	v.perTryTimeout = nonNegativeDuration("Policy.PerTryTimeout", p.PerTryTimeout)
	if v.retries > 0 {
		retryOn, err := envoy.ParseRetryOn(p.RetryOn)
		if err != nil {
			field("Policy.RetryOn", "%w", err)
		}
		v.retryOn = retryOn
	}

	cp := p.ConnectionPool
	v.maxConnections = count("Policy.ConnectionPool.MaxConnections", cp.MaxConnections)
	v.maxPendingRequests = count("Policy.ConnectionPool.MaxPendingRequests", cp.MaxPendingRequests)
	v.maxRequestsPerConnection = count("Policy.ConnectionPool.MaxRequestsPerConnection", cp.MaxRequestsPerConnection)
	v.idleTimeout = nonNegativeDuration("Policy.ConnectionPool.IdleTimeout", cp.IdleTimeout)

	od := p.OutlierDetection
	v.ejection = envoy.GatewayEjection{
		ConsecutiveGatewayFailures: count("Policy.OutlierDetection.ConsecutiveGatewayErrors", od.ConsecutiveGatewayErrors),
		Interval:                   nonNegativeDuration("Policy.OutlierDetection.Interval", od.Interval),
		BaseEjectionTime:           nonNegativeDuration("Policy.OutlierDetection.BaseEjectionTime", od.BaseEjectionTime),
		MaxEjectionPercent:         count("Policy.OutlierDetection.MaxEjectionPercent", od.MaxEjectionPercent),
	}
	if v.ejection.MaxEjectionPercent > 100 {
		field("Policy.OutlierDetection.MaxEjectionPercent", "%d is above 100", od.MaxEjectionPercent)
	}

	eps, epErrs := validEndpoints(c.Endpoints)
	errs = append(errs, epErrs...)
	v.endpoints = eps

	if len(errs) > 0 {
		return validConfig{}, fmt.Errorf("%w: revision %q: %s", ErrInvalid, c.Key.String(), joinErrors(errs))
	}
	return v, nil
}

// validEndpoints parses, sorts (by address, then port) and de-duplicates
// endpoints into a new slice: the caller's slice is never reordered.
func validEndpoints(in []revision.Endpoint) ([]envoy.Endpoint, []error) {
	type parsed struct {
		addr netip.Addr
		port uint32
	}
	var errs []error
	ps := make([]parsed, 0, len(in))
	for i, e := range in {
		addr, err := netip.ParseAddr(e.IP)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("Endpoints[%d].IP: %w", i, err))
		case addr.Zone() != "" || addr.IsUnspecified() || addr.IsMulticast():
			errs = append(errs, fmt.Errorf("Endpoints[%d].IP: %q is not a pod address", i, e.IP))
		}
		if e.Port == 0 || e.Port > 65535 {
			errs = append(errs, fmt.Errorf("Endpoints[%d].Port: %d is not a port", i, e.Port))
		}
		ps = append(ps, parsed{addr: addr.Unmap(), port: e.Port})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	slices.SortFunc(ps, func(a, b parsed) int {
		return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.port, b.port))
	})
	ps = slices.Compact(ps)
	out := make([]envoy.Endpoint, 0, len(ps))
	for _, p := range ps {
		out = append(out, envoy.Endpoint{IP: p.addr.String(), Port: p.port})
	}
	return out, nil
}

// joinErrors puts every problem on one line, for logs, events and the
// lease API's error message alike.
func joinErrors(errs []error) string {
	msgs := make([]string, 0, len(errs))
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	return strings.Join(msgs, "; ")
}
