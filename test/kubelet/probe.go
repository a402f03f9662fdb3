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
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ErrUnsupportedProbe is Probe's answer for an exec, TCP or gRPC readiness
// probe: only httpGet probes are run here.
var ErrUnsupportedProbe = errors.New("only httpGet readiness probes are supported here")

// ProbeClient is the HTTP client probes use: a kubelet neither verifies a
// probe's certificate nor follows a redirect.
func ProbeClient() *http.Client {
	return &http.Client{
		Timeout:       time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // see above
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Probe runs c's readiness probe once against podIP: nil when it passes (an
// HTTP(S) GET answered 200–399) or c has none.
func Probe(ctx context.Context, client *http.Client, c *corev1.Container, podIP string) error {
	if c.ReadinessProbe == nil {
		return nil
	}
	g := c.ReadinessProbe.HTTPGet
	if g == nil {
		return ErrUnsupportedProbe
	}
	port := g.Port.IntValue()
	if port == 0 {
		for _, p := range c.Ports {
			if p.Name == g.Port.StrVal {
				port = int(p.ContainerPort)
			}
		}
	}
	if port == 0 {
		return fmt.Errorf("container %s: readiness probe port %q names no container port", c.Name, g.Port.String())
	}
	host := podIP
	if g.Host != "" {
		host = g.Host
	}
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + g.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/1.35")
	for _, h := range g.HTTPHeaders {
		if h.Name == "Host" {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
