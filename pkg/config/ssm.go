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

package config

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/configmap/parser"

	"github.com/serverless-mesh/ssm/pkg/policy"
)

const (
	// ReadinessModeKey selects how KIngress readiness is confirmed.
	ReadinessModeKey = "readiness-mode"
	// XDSAddressKey is istiod's plaintext xDS address for readiness-mode xds.
	XDSAddressKey = "xds-address"
	// SidecarlessRevisionsKey switches on the Deployment webhook's removal of
	// the Istio sidecar from short-lived revisions (lightweight mTLS through
	// SSM's queue-proxy plugin). Off by default: it needs SSM's activator
	// and queue-proxy images, and the routing through leased proxies.
	SidecarlessRevisionsKey = "sidecarless-revisions"
	// DefaultXDSAddress is where Istio's charts serve plaintext xDS.
	DefaultXDSAddress = "istiod.istio-system.svc:15010"
)

// readinessModes lists the accepted readiness-mode values.
func readinessModes() []ReadinessMode {
	return []ReadinessMode{ReadinessProbe, ReadinessXDS}
}

func parseReadinessMode(raw string) (ReadinessMode, error) {
	mode := ReadinessMode(strings.TrimSpace(raw))
	for _, known := range readinessModes() {
		if mode == known {
			return mode, nil
		}
	}
	return "", fmt.Errorf("unknown readiness mode %q", raw)
}

// parseXDSAddress accepts host:port with a non-empty host and a port from 1
// to 65535; gRPC would accept more (schemes, resolvers), but a plain address
// is what istiod's Service offers and what a typo is checked against.
func parseXDSAddress(raw string) (string, error) {
	addr := strings.TrimSpace(raw)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("not host:port: %w", err)
	}
	if host == "" {
		return "", errors.New("the host is empty")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return addr, nil
}

// defaultSSM is config-ssm with no keys set.
func defaultSSM() *SSM {
	return &SSM{
		IngressGateways: DefaultIngressGateways(),
		LocalGateways:   DefaultLocalGateways(),
		Readiness:       ReadinessProbe,
		XDSAddress:      DefaultXDSAddress,
		Policy:          policy.NewDefaults(),
		Observation:     DefaultObservation(),
	}
}

// ssmRules are every non-gateway key of config-ssm, each writing into ssm.
func ssmRules(ssm *SSM) []keyRule {
	readiness := []keyRule{{
		key:     ReadinessModeKey,
		allowed: `"probe", "xds"`,
		parse:   parser.AsFunc(ReadinessModeKey, &ssm.Readiness, parseReadinessMode),
	}, {
		key:     XDSAddressKey,
		allowed: "host:port, with a port from 1 to 65535",
		parse:   parser.AsFunc(XDSAddressKey, &ssm.XDSAddress, parseXDSAddress),
	}, {
		key:     SidecarlessRevisionsKey,
		allowed: `"true", "false"`,
		parse:   parser.AsFunc(SidecarlessRevisionsKey, &ssm.SidecarlessRevisions, parseBool),
	}}
	readiness = append(readiness, observationRules(&ssm.Observation)...)
	return append(readiness, policyRules(&ssm.Policy)...)
}

// Keys of the autoscaler hook's observation.
const (
	ObservationWindowKey         = "observation-window"
	ObservationDwellWindowsKey   = "observation-dwell-windows"
	ObservationScrapeIntervalKey = "observation-scrape-interval"
)

// maxScrapesPerWindow is how many scrapes one observation window may span:
// the autoscaler hook keeps at most 64 scrape deltas per revision.
const maxScrapesPerWindow = 60

// observationRules are the keys tuning how execution times are observed.
// The bounds keep the hook's cost and memory bounded: a window shorter than
// a scrape holds nothing, a scrape more often than every second multiplies
// the requests to every pod.
func observationRules(o *Observation) []keyRule {
	within := func(d *time.Duration, lo, hi time.Duration) func() error {
		return func() error {
			if *d < lo || *d > hi {
				return fmt.Errorf("%v is outside [%v, %v]", *d, lo, hi)
			}
			return nil
		}
	}
	return []keyRule{{
		key:     ObservationWindowKey,
		allowed: "a Go duration from 10s to 1h, e.g. 5m",
		parse:   configmap.AsDuration(ObservationWindowKey, &o.Window),
		check:   within(&o.Window, 10*time.Second, time.Hour),
	}, {
		key:     ObservationDwellWindowsKey,
		allowed: "an integer from 0 to 12",
		parse:   configmap.AsInt(ObservationDwellWindowsKey, &o.DwellWindows),
		check: func() error {
			if o.DwellWindows < 0 || o.DwellWindows > 12 {
				return fmt.Errorf("%d is outside [0, 12]", o.DwellWindows)
			}
			return nil
		},
	}, {
		key:     ObservationScrapeIntervalKey,
		allowed: "a Go duration from 1s to 5m, not longer than observation-window, e.g. 30s",
		parse:   configmap.AsDuration(ObservationScrapeIntervalKey, &o.ScrapeInterval),
		check:   within(&o.ScrapeInterval, time.Second, 5*time.Minute),
	}}
}

// parseBool accepts exactly "true" and "false": a typo such as "yes" must
// not silently mean one of them.
func parseBool(raw string) (bool, error) {
	switch raw {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", raw)
}

// NewSSMFromConfigMap parses config-ssm on its own: its gateway keys when it
// sets any, else the default gateways (GatewaysFromIstioConfig stays false;
// Store.Load and ResolveGateways fold in config-istio). Unknown keys are
// rejected so a typo fails loudly instead of leaving a default in force;
// every bad key is reported, not only the first. A nil cm is an empty one.
func NewSSMFromConfigMap(cm *corev1.ConfigMap) (*SSM, error) {
	ssm, _, err := parseSSM(cm)
	return ssm, err
}

// parseSSM is NewSSMFromConfigMap that also returns what config-ssm said
// about gateways, which precedence needs.
func parseSSM(cm *corev1.ConfigMap) (*SSM, gatewaySet, error) {
	var data map[string]string
	if cm != nil {
		data = cm.Data
	}
	ssm := defaultSSM()
	rules := ssmRules(ssm)

	errs := unknownKeyErrors(data, rules)
	for _, rule := range rules {
		if err := rule.apply(data); err != nil {
			errs = append(errs, err)
		}
	}
	gateways, err := parseGateways(cm, true)
	if err != nil {
		errs = append(errs, err)
	}
	// Rules spanning keys only make sense once every key parsed. Validate is
	// the backstop that keeps this parser and pkg/policy in agreement.
	if len(errs) == 0 {
		errs = crossKeyErrors(ssm.Policy)
		o := ssm.Observation
		switch {
		case o.ScrapeInterval > o.Window:
			errs = append(errs, fmt.Errorf("%q (%v) is longer than %q (%v): a window would hold no scrape",
				ObservationScrapeIntervalKey, o.ScrapeInterval, ObservationWindowKey, o.Window))
		case o.Window > maxScrapesPerWindow*o.ScrapeInterval:
			errs = append(errs, fmt.Errorf("%q (%v) holds more than %d scrapes of %q (%v): SSM keeps at most that many per revision",
				ObservationWindowKey, o.Window, maxScrapesPerWindow, ObservationScrapeIntervalKey, o.ScrapeInterval))
		}
	}
	if len(errs) == 0 {
		if err := ssm.Policy.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, gatewaySet{}, fmt.Errorf("invalid %s: %w", SSMConfigName, errors.Join(errs...))
	}
	ssm.IngressGateways, ssm.LocalGateways = gateways.ingress, gateways.local
	return ssm, gateways, nil
}

// unknownKeyErrors names, in sorted order, every key no rule, gateway key or
// _example claims.
func unknownKeyErrors(data map[string]string, rules []keyRule) []error {
	known := map[string]bool{
		configmap.ExampleKey: true,
		ExternalGatewaysKey:  true,
		LocalGatewaysKey:     true,
	}
	for _, rule := range rules {
		known[rule.key] = true
	}
	var unknown []string
	for key := range data {
		if !known[key] && !isLegacyGatewayKey(key) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	allowed := make([]string, 0, len(known)+2)
	for key := range known {
		allowed = append(allowed, key)
	}
	allowed = append(allowed, LegacyGatewayKeyPrefix+"<namespace>.<name>", LegacyLocalGatewayKeyPrefix+"<namespace>.<name>")
	sort.Strings(allowed)
	errs := make([]error, 0, len(unknown))
	for _, key := range unknown {
		errs = append(errs, fmt.Errorf("unknown key %q (misspelt?), allowed keys: %s", key, strings.Join(allowed, ", ")))
	}
	return errs
}
