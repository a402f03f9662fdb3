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
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// variant is one side of the comparison: a Knative Service whose revision
// is measured from zero.
type variant struct {
	label       string
	service     string
	annotations map[string]string
}

// variants: the baseline first. The third, an SSM revision that takes no
// lease (the activator speaks mTLS to its pod itself), tells the cost of
// the proxy's hop apart from that of mTLS to a new pod.
var variants = []variant{
	{label: "plain Knative", service: "cold-plain"},
	{label: "SSM, leased", service: "cold-ssm", annotations: map[string]string{"ssm.dev/lifecycle": "short-lived"}},
	{label: "SSM, no lease", service: "cold-nolease", annotations: map[string]string{
		"ssm.dev/lifecycle": "short-lived", "ssm.dev/proxy-pool": "none",
	}},
}

// sample is one cold request of one variant.
type sample struct {
	// latency is from sending the request to having read the response.
	latency time.Duration
	phases  coldStart
	err     error
}

func main() { os.Exit(run()) }

// run returns the exit code, after undoing its set-up.
func run() int {
	dir := flag.String("cluster-dir", os.Getenv("SSM_CLUSTER_DIR"), "hack/cluster.sh's state directory")
	activator := flag.String("activator", "10.200.0.23:8012", "SSM's activator (kn-activator)")
	metricsURL := flag.String("activator-metrics", "http://10.200.0.23:9090/metrics", "the activator's Prometheus endpoint")
	cycles := flag.Int("cycles", 8, "measured cycles; each sends one cold request to each variant")
	warmup := flag.Int("warmup", 1, "cycles run first and not counted")
	poolIdle := flag.Duration("pool-idle-timeout", 4*time.Second,
		"the default ProxyPool's idleTimeout during the run, so that every cycle's lease is a new one (pushed and ACKed); "+
			"restored after; 0 leaves it as it is (a lease then outlives the cycles)")
	timeout := flag.Duration("timeout", 30*time.Minute, "bound on the whole run")
	flag.Parse()
	if *cycles < 1 || *warmup < 0 {
		return failed("-cycles must be ≥ 1 and -warmup ≥ 0")
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(*dir, "admin.kubeconfig"))
	if err != nil {
		return failed("loading the admin kubeconfig: %v", err)
	}
	c, err := newClients(cfg)
	if err != nil {
		return failed("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	restore, err := setUp(ctx, c, *poolIdle)
	defer restore()
	if err != nil {
		return failed("setting up: %v", err)
	}

	b := &bench{activator: *activator, metricsURL: *metricsURL,
		metrics: &http.Client{Timeout: 10 * time.Second}}
	results := make([][]sample, len(variants))
	for cycle := range *warmup + *cycles {
		// Interleaved, and the order rotates, so no variant always runs on
		// a machine another has just woken.
		for i := range variants {
			v := (cycle + i) % len(variants)
			if err := c.waitScaledToZero(ctx, variants[v].service+"-00001"); err != nil {
				return failed("%v", err)
			}
			s := b.coldRequest(ctx, variants[v])
			measured := cycle >= *warmup
			logSample(cycle, variants[v], s, measured)
			if measured {
				results[v] = append(results[v], s)
			}
		}
	}
	report(os.Stdout, *cycles, results)
	return 0
}

func failed(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "coldpath: "+format+"\n", args...)
	return 1
}

// bench sends the cold requests and reads the activator's metrics.
type bench struct {
	activator  string
	metricsURL string
	metrics    *http.Client
}

// coldRequest sends the variant's revision, at zero, one request through
// the activator on a new connection, and reads the cold start's phases
// from the activator's metrics around it.
func (b *bench) coldRequest(ctx context.Context, v variant) sample {
	revision := v.service + "-00001"
	before, err := scrapePhases(ctx, b.metrics, b.metricsURL)
	if err != nil {
		return sample{err: err}
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.activator+"/", nil)
	if err != nil {
		return sample{err: err}
	}
	req.Header.Set("Knative-Serving-Namespace", benchNS)
	req.Header.Set("Knative-Serving-Revision", revision)
	req.Host = v.service + "." + benchNS + ".example.com"
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return sample{err: fmt.Errorf("%s: %w", revision, err)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	s := sample{latency: time.Since(start)}
	if want := "hello from " + revision; err != nil || resp.StatusCode != http.StatusOK || string(body) != want {
		s.err = fmt.Errorf("%s: status %d body %q err %v, want 200 %q", revision, resp.StatusCode, body, err, want)
		return s
	}
	// The activator records first_byte before it copies the response out,
	// so the scrape after the body sees it.
	after, err := scrapePhases(ctx, b.metrics, b.metricsURL)
	if err != nil {
		s.err = err
		return s
	}
	s.phases, s.err = coldStartOf(before, after, revision)
	return s
}

func logSample(cycle int, v variant, s sample, measured bool) {
	tag := "measured"
	if !measured {
		tag = "warm-up"
	}
	if s.err != nil {
		fmt.Fprintf(os.Stderr, "cycle %d (%s) %-14s FAILED: %v\n", cycle, tag, v.label, s.err)
		return
	}
	p := s.phases
	lease := "no lease"
	if p.leased {
		lease = fmt.Sprintf("lease granted %.1f ms", p.leaseGranted*1e3)
	}
	fmt.Fprintf(os.Stderr, "cycle %d (%s) %-14s response %7.1f ms | pod ready %7.1f ms, first byte %7.1f ms via %s, after ready %.3f ms | %s\n",
		cycle, tag, v.label, ms(s.latency), p.podReady*1e3, p.firstByte*1e3, p.via, (p.firstByte-p.podReady)*1e3, lease)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
