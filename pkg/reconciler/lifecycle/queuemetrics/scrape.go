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

package queuemetrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// InvocationDurationMetric is the histogram queue-proxy records every
// non-probe request's duration in (knative.dev/serving v0.50
// pkg/queue/request_metric.go: OTel instrument "kn.serving.invocation.duration",
// unit "s"), under the name knative.dev/pkg's Prometheus exporter gives it
// (underscore escaping, unit suffix). Its _count is the request count, so
// it carries the request rate as well.
const InvocationDurationMetric = "kn_serving_invocation_duration_seconds"

// QueueProxyMetricsPort is where queue-proxy serves its request metrics
// (knative.dev/serving pkg/networking.UserQueueMetricsPort), when
// config-observability sets request-metrics-protocol to "prometheus".
const QueueProxyMetricsPort = 9091

// maxExpositionBytes bounds what a scrape reads: queue-proxy's exposition
// is a few tens of KiB; anything far larger is not queue-proxy.
const maxExpositionBytes = 4 << 20

// ErrNoInvocationMetric says a pod served metrics but not the histogram,
// which is what a queue-proxy with request metrics off looks like.
var ErrNoInvocationMetric = errors.New("no " + InvocationDurationMetric + " histogram")

// Scraper reads one pod's cumulative request-duration histogram.
type Scraper interface {
	Scrape(ctx context.Context, podIP string) (Histogram, error)
}

// HTTPScraper scrapes queue-proxy's Prometheus text endpoint over plain
// HTTP, as Prometheus itself would.
type HTTPScraper struct {
	Client *http.Client
	// Port is the metrics port (QueueProxyMetricsPort).
	Port int
}

var _ Scraper = (*HTTPScraper)(nil)

// NewHTTPScraper returns a scraper for port. Deadlines come from the
// context of each Scrape.
func NewHTTPScraper(port int) *HTTPScraper {
	return &HTTPScraper{Client: &http.Client{}, Port: port}
}

// Scrape fetches http://podIP:Port/metrics and sums the invocation-duration
// histogram over its label sets (one per response status code).
func (s *HTTPScraper) Scrape(ctx context.Context, podIP string) (Histogram, error) {
	url := "http://" + net.JoinHostPort(podIP, strconv.Itoa(s.Port)) + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Histogram{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	// The classic text format: what expfmt's text parser reads.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.Client.Do(req)
	if err != nil {
		return Histogram{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Histogram{}, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	h, err := Parse(io.LimitReader(resp.Body, maxExpositionBytes))
	if err != nil {
		return Histogram{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	return h, nil
}

// Parse reads a Prometheus text exposition and returns the
// invocation-duration histogram, summed over label sets.
func Parse(r io.Reader) (Histogram, error) {
	only, err := invocationLines(r)
	if err != nil {
		return Histogram{}, fmt.Errorf("read exposition: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(only)
	if err != nil {
		return Histogram{}, fmt.Errorf("parse exposition: %w", err)
	}
	mf, ok := families[InvocationDurationMetric]
	if !ok || mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.GetMetric()) == 0 {
		return Histogram{}, ErrNoInvocationMetric
	}
	var total Histogram
	for _, m := range mf.GetMetric() {
		h, err := fromDTO(m.GetHistogram())
		if err != nil {
			return Histogram{}, err
		}
		if !total.Add(h) {
			return Histogram{}, fmt.Errorf("%s: label sets with different buckets", InvocationDurationMetric)
		}
	}
	return total, nil
}

// invocationLines keeps only the lines of the invocation-duration family.
// queue-proxy's exposition also carries otelhttp's three histograms with a
// dozen labels each; parsing them all made a scrape about ten times dearer,
// for nothing.
func invocationLines(r io.Reader) (io.Reader, error) {
	var kept bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExpositionBytes)
	for sc.Scan() {
		line := sc.Bytes()
		if isInvocationLine(line) {
			kept.Write(line)
			kept.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return &kept, nil
}

// isInvocationLine reports whether line is a sample or the HELP/TYPE
// comment of the invocation-duration family.
func isInvocationLine(line []byte) bool {
	for _, comment := range []string{"# HELP ", "# TYPE "} {
		if rest, ok := bytes.CutPrefix(line, []byte(comment)); ok {
			name, _, _ := bytes.Cut(rest, []byte(" "))
			return string(name) == InvocationDurationMetric
		}
	}
	rest, ok := bytes.CutPrefix(line, []byte(InvocationDurationMetric))
	if !ok {
		return false
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if after, ok := bytes.CutPrefix(rest, []byte(suffix)); ok && len(after) > 0 && (after[0] == '{' || after[0] == ' ') {
			return true
		}
	}
	return false
}

// fromDTO converts one cumulative Prometheus histogram into per-bucket counts.
func fromDTO(dh *dto.Histogram) (Histogram, error) {
	if dh == nil {
		return Histogram{}, fmt.Errorf("%s: sample without histogram", InvocationDurationMetric)
	}
	count := countOf(dh.GetSampleCount(), dh.GetSampleCountFloat())
	sum := dh.GetSampleSum()
	if math.IsNaN(sum) || math.IsInf(sum, 0) || sum < 0 {
		return Histogram{}, fmt.Errorf("%s: sum %v", InvocationDurationMetric, sum)
	}
	h := Histogram{Count: count, Sum: sum}
	var cumulative uint64
	for _, b := range dh.GetBucket() {
		bound := b.GetUpperBound()
		if math.IsInf(bound, +1) {
			continue // the overflow bucket is Count minus the last finite one
		}
		if n := len(h.Bounds); n > 0 && bound <= h.Bounds[n-1] {
			return Histogram{}, fmt.Errorf("%s: bucket bounds not ascending at %v", InvocationDurationMetric, bound)
		}
		c := countOf(b.GetCumulativeCount(), b.GetCumulativeCountFloat())
		if c < cumulative || c > count {
			return Histogram{}, fmt.Errorf("%s: bucket le=%v count %d out of order", InvocationDurationMetric, bound, c)
		}
		h.Bounds = append(h.Bounds, bound)
		h.Counts = append(h.Counts, c-cumulative)
		cumulative = c
	}
	h.Counts = append(h.Counts, count-cumulative)
	return h, nil
}

// countOf reads a count the exposition wrote as an integer or as a float.
func countOf(i uint64, f float64) uint64 {
	if i == 0 && f > 0 && f < math.MaxUint64 {
		return uint64(f)
	}
	return i
}
