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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	netheader "knative.dev/networking/pkg/http/header"

	"github.com/serverless-mesh/ssm/bench/internal/comparison"
)

// The pod both queue-proxies believe they run in.
const (
	namespace    = "bench"
	revision     = "hello-00001"
	functionPort = "8080"
	servingPort  = "8012"
	mtlsPort     = "8113"
	greeting     = "hello from " + revision

	// annotations is the podinfo file of an SSM short-lived revision as the
	// webhook leaves it: the plugin on, lightweight mTLS. The plugin then
	// refuses plaintext from outside the pod and lets loopback through,
	// which is where these clients are; its revision deadline applies too.
	annotations = `qpoption.knative.dev/ssm-activate="enable"
ssm.dev/lifecycle="short-lived"
ssm.dev/mtls-mode="lightweight"
`
)

type options struct {
	comparison.Load
	stock, ours, function string
	outside               string
}

func main() {
	var o options
	flag.StringVar(&o.stock, "stock", "", "Knative's queue-proxy binary (knative.dev/serving/cmd/queue)")
	flag.StringVar(&o.ours, "ours", "", "SSM's queue-proxy binary (cmd/queue)")
	flag.StringVar(&o.function, "function", "", "the function binary (test/function)")
	flag.StringVar(&o.outside, "outside", "", "the network and mount namespaces the script started in, which this must not run in")
	o.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "queueproxy:", err)
		os.Exit(2)
	}
	os.Exit(o.Run("queueproxy", os.Stderr, func(ctx context.Context) error {
		return run(ctx, o, os.Stdout, os.Stderr)
	}))
}

// validate checks that the binaries are given, then the load, so that a
// bare invocation names the first binary it lacks.
func (o *options) validate() error {
	for _, required := range []struct{ flag, path string }{{"-stock", o.stock}, {"-ours", o.ours}, {"-function", o.function}} {
		if required.path == "" {
			return fmt.Errorf("%s is required", required.flag)
		}
	}
	return o.Validate()
}

// bench is one run's shared state.
type bench struct {
	options
	logDir      string
	queueEnv    []string
	clientCert  tls.Certificate
	roots       *x509.CertPool
	probeClient *http.Client
}

func run(ctx context.Context, o options, out, progress io.Writer) (err error) {
	if err := checkPrivateNamespaces(o.outside); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ssm-bench-queueproxy-")
	if err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	defer func() {
		// A failed run keeps the processes' logs for a look.
		if err != nil {
			err = fmt.Errorf("%w (logs in %s)", err, filepath.Join(work, "logs"))
		}
	}()
	b := &bench{options: o, logDir: filepath.Join(work, "logs"),
		probeClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}}
	identityDir, podInfo := filepath.Join(work, "identity"), filepath.Join(work, "podinfo")
	for _, d := range []string{b.logDir, identityDir, podInfo} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("work directory: %w", err)
		}
	}
	cert, ca, err := writeIdentity(identityDir)
	if err != nil {
		return err
	}
	b.clientCert, b.roots = cert, ca.Bundle()
	if err := mountPodInfo(podInfo, annotations); err != nil {
		return err
	}
	b.queueEnv = queueEnv(identityDir)

	fn, err := start("function", o.function, []string{"PORT=" + functionPort, "K_REVISION=" + revision}, b.logDir)
	if err != nil {
		return err
	}
	defer fn.stop() //nolint:errcheck // the namespace goes with this process anyway
	if err := waitServing(ctx, fn, b.probeClient, "http://127.0.0.1:"+functionPort+"/", nil, greeting); err != nil {
		return err
	}
	loadBefore := comparison.LoadAverage()
	tables := &bytes.Buffer{}
	for _, c := range o.Clients {
		variants := []comparison.Variant{
			{Name: fmt.Sprintf("a: stock, plaintext :%s, C=%d", servingPort, c), Measure: b.measure(o.stock, false, c)},
			{Name: fmt.Sprintf("b: SSM, plaintext :%s, C=%d", servingPort, c), Measure: b.measure(o.ours, false, c)},
			{Name: fmt.Sprintf("c: SSM, mTLS :%s, C=%d", mtlsPort, c), Measure: b.measure(o.ours, true, c)},
		}
		series, err := comparison.Interleave(ctx, o.Rounds, variants, progress)
		if err != nil {
			return err
		}
		writeTables(tables, c, series)
	}
	writeHeader(out, o, loadBefore, comparison.LoadAverage(), pluginSettings(filepath.Join(b.logDir, "ours.log")))
	_, _ = tables.WriteTo(out)
	return os.RemoveAll(work)
}

// queueEnv is the environment Knative gives a revision's queue-proxy (see
// knative.dev/serving/pkg/reconciler/revision/resources/queue.go), with
// Knative's defaults (container concurrency 0, no metrics backend, no
// request log) and what SSM's webhook adds. Both queue-proxies get the same;
// the stock one ignores the SSM variables.
func queueEnv(identityDir string) []string {
	return []string{
		"SERVING_NAMESPACE=" + namespace,
		"SERVING_SERVICE=hello",
		"SERVING_CONFIGURATION=hello",
		"SERVING_REVISION=" + revision,
		"SERVING_POD=" + revision + "-deployment-bench",
		"SERVING_POD_IP=127.0.0.1",
		"QUEUE_SERVING_PORT=" + servingPort,
		"QUEUE_SERVING_TLS_PORT=8112",
		"CONTAINER_CONCURRENCY=0",
		"REVISION_TIMEOUT_SECONDS=300",
		"SERVING_LOGGING_CONFIG=",
		"SERVING_LOGGING_LEVEL=info",
		"USER_PORT=" + functionPort,
		`SERVING_READINESS_PROBE={"tcpSocket":{"port":` + functionPort + `,"host":"127.0.0.1"},"successThreshold":1}`,
		"SSM_IDENTITY_DIR=" + identityDir,
		"SYSTEM_NAMESPACE=" + systemNamespace,
	}
}

// measure returns one round of a variant: start the queue-proxy, wait for
// Knative's readiness probe, warm up with fresh keep-alive connections,
// measure, and stop it. Every round starts from a new process, so no variant
// inherits another's warm state.
func (b *bench) measure(bin string, mtls bool, clients int) func(context.Context) (comparison.Round, error) {
	name := "stock"
	if bin == b.ours {
		name = "ours"
	}
	return func(ctx context.Context) (comparison.Round, error) {
		p, err := start(name, bin, b.queueEnv, b.logDir)
		if err != nil {
			return comparison.Round{}, err
		}
		defer p.stop() //nolint:errcheck // a stuck process fails the next round's start
		// The activator's readiness probe, which queue-proxy answers itself
		// once the function's readiness probe passes.
		probeHeader := http.Header{netheader.ProbeKey: {"queue"}, netheader.UserAgentKey: {netheader.ActivatorUserAgent}}
		if err := waitServing(ctx, p, b.probeClient, "http://127.0.0.1:"+servingPort+"/", probeHeader, "queue"); err != nil {
			return comparison.Round{}, err
		}
		transport, url := b.transport(clients, mtls)
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
		send := sender(client, url, clients)
		if mtls {
			if err := waitServing(ctx, p, client, url, nil, greeting); err != nil {
				return comparison.Round{}, err
			}
		}
		if warm := comparison.ClosedLoop(ctx, clients, b.Warmup, send); warm.Errors > 0 {
			return comparison.Round{}, fmt.Errorf("warm-up: %d errors, first: %w", warm.Errors, warm.FirstError)
		}
		// The client's garbage from the warm-up is not the next round's cost.
		runtime.GC()
		r := comparison.ClosedLoop(ctx, clients, b.Requests, send)
		if r.Errors > 0 {
			return comparison.Round{}, fmt.Errorf("%d errors, first: %w", r.Errors, r.FirstError)
		}
		if err := ctx.Err(); err != nil {
			return comparison.Round{}, err
		}
		return r, p.stop()
	}
}

// transport is a fresh keep-alive HTTP/1.1 client side for one round: one
// connection per client. Over mTLS it presents a pooled proxy's certificate
// and, like pooled proxies and the activator, speaks HTTP/1.1.
func (b *bench) transport(clients int, mtls bool) (*http.Transport, string) {
	t := &http.Transport{
		MaxIdleConns:        clients,
		MaxIdleConnsPerHost: clients,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	if !mtls {
		return t, "http://127.0.0.1:" + servingPort + "/"
	}
	t.TLSClientConfig = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      b.roots,
		ServerName:   serverName,
		Certificates: []tls.Certificate{b.clientCert},
		NextProtos:   []string{"http/1.1"},
	}
	return t, "https://127.0.0.1:" + mtlsPort + "/"
}

// sender sends a GET and checks that the function answered it.
func sender(client *http.Client, url string, clients int) func(context.Context, int) error {
	bodies := make([]bytes.Buffer, clients)
	want := []byte(greeting)
	return func(ctx context.Context, c int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body := &bodies[c]
		body.Reset()
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body.Bytes(), want) {
			return fmt.Errorf("GET %s: %s: %q", url, resp.Status, body.String())
		}
		return nil
	}
}
