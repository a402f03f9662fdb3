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

package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/identity"
)

const (
	// DefaultAnnotationsPath is sharedmain.PodInfoAnnotationsPath, where
	// Knative mounts the pod's annotations for qpoption extensions. It is
	// repeated here so that this package does not import sharedmain.
	DefaultAnnotationsPath = "/etc/podinfo/annotations"
	// DefaultCertDir holds tls.crt, tls.key and ca.crt, projected from the
	// workload Secret SSM's CA issues (see Options.CertDir).
	DefaultCertDir = "/var/run/ssm/identity"
	// DefaultSystemNamespace is where Knative's activator and the system
	// proxy pool run.
	DefaultSystemNamespace = "knative-serving"
	// DefaultQueueServingPort is queue-proxy's plaintext main port.
	DefaultQueueServingPort = "8012"
	// DefaultDrainDelay keeps the mTLS port serving after SIGTERM as long as
	// queue-proxy keeps its main port serving, so pooled proxies see the pod
	// leave their endpoints before its connections close.
	DefaultDrainDelay = 30 * time.Second

	// Environment variables OptionsFromEnv reads. QUEUE_SERVING_PORT and
	// REVISION_TIMEOUT_SECONDS are set by Knative on every queue-proxy.
	EnvCertDir          = "SSM_IDENTITY_DIR"
	EnvSystemNamespace  = "SYSTEM_NAMESPACE"
	EnvQueueServingPort = "QUEUE_SERVING_PORT"
	EnvRevisionTimeout  = "REVISION_TIMEOUT_SECONDS"
)

// Options configure the plugin. OptionsFromEnv fills them in a pod.
type Options struct {
	// AnnotationsPath is the podinfo annotations file.
	AnnotationsPath string
	// CertDir holds the workload certificate, its key and the trust bundle.
	// They come from SSM's CA via a projected Secret and are re-read when the
	// kubelet updates them, so rotation needs no restart. Istio's CA over SDS
	// is not wired here: a sidecar-less pod has no istio-agent to speak SDS
	// for it, so SSM's CA, which pooled proxies already trust, issues it.
	CertDir string
	// TrustDomain of the SPIFFE IDs peers present. Empty (as in a pod) means
	// the trust domain of the pod's own certificate: SSM's controller issues
	// every identity and is the one place the trust domain is set.
	TrustDomain string
	// SystemNamespace is where the activator and the shared pool run.
	SystemNamespace string
	// MTLSAddr is the mTLS listen address.
	MTLSAddr string
	// Upstream is queue-proxy's plaintext main port, host:port on loopback.
	Upstream string
	// RevisionTimeout is the revision's timeoutSeconds; it caps the deadline.
	RevisionTimeout time.Duration
	// DrainDelay is how long the mTLS port keeps serving after ctx ends.
	DrainDelay time.Duration
	// MeterProvider records the plugin's metrics; nil means the OTel global,
	// which sharedmain sets to queue-proxy's exporter before options run.
	MeterProvider metric.MeterProvider
}

// OptionsFromEnv builds Options for a queue-proxy container.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		AnnotationsPath: DefaultAnnotationsPath,
		CertDir:         orDefault(getenv(EnvCertDir), DefaultCertDir),
		SystemNamespace: orDefault(getenv(EnvSystemNamespace), DefaultSystemNamespace),
		MTLSAddr:        ":" + strconv.Itoa(ssm.QueueProxyMTLSPort),
		Upstream:        net.JoinHostPort("127.0.0.1", orDefault(getenv(EnvQueueServingPort), DefaultQueueServingPort)),
		DrainDelay:      DefaultDrainDelay,
	}
	if v := getenv(EnvRevisionTimeout); v != "" {
		seconds, err := strconv.Atoi(v)
		if err != nil || seconds < 0 {
			return Options{}, fmt.Errorf("%s=%q: want a whole number of seconds >= 0", EnvRevisionTimeout, v)
		}
		o.RevisionTimeout = time.Duration(seconds) * time.Second
	}
	return o, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Plugin is the plugin as started in one pod.
type Plugin struct {
	// Settings are what the pod enforces.
	Settings Settings
	// Handler replaces sharedmain's ProxyHandler.
	Handler http.Handler

	mtlsAddr net.Addr
	stopped  chan struct{}
}

// MTLSAddr is where the mTLS server listens; nil when it is not running.
func (p *Plugin) MTLSAddr() net.Addr { return p.mtlsAddr }

// Stopped is closed once the mTLS server has shut down (at once when it
// never started).
func (p *Plugin) Stopped() <-chan struct{} { return p.stopped }

// Activate reads the pod's annotations and, when they switch the plugin on,
// starts the mTLS server (until ctx ends) and wraps next, queue-proxy's
// ProxyHandler. It never fails the pod: a problem is logged and the plugin
// keeps what fails closed (see DecideSettings).
func Activate(ctx context.Context, logger *zap.SugaredLogger, namespace string, opts Options, next http.Handler) *Plugin {
	p := &Plugin{Handler: next, stopped: make(chan struct{})}
	p.Settings = readSettings(logger, opts)
	if !p.Settings.Active {
		close(p.stopped)
		return p
	}
	if p.Settings.Problem != "" {
		logger.Errorw("SSM plugin: the pod's ssm.dev annotations are unusable; requiring mTLS and enforcing no deadline",
			zap.String("problem", p.Settings.Problem))
	}
	mp := opts.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m, err := newMetrics(mp)
	if err != nil {
		logger.Errorw("SSM plugin: metrics unavailable", zap.Error(err))
	}

	forwarded := &forwardedPeers{}
	handler := WithDeadline(next, p.Settings.Timeout)
	if p.Settings.RequireMTLS {
		handler = RequirePodLocal(handler, m)
	}
	// Outermost, so that the deadline's 504 is counted.
	p.Handler = countForwarded(handler, forwarded, m)

	source := identity.NewFileSource(opts.CertDir)
	trustDomain := opts.TrustDomain
	if trustDomain == "" {
		own, err := identity.OwnID(source)
		if err != nil {
			// Pool traffic cannot arrive, but nothing is let in that should
			// not be: the main-port guard stands on its own.
			logger.Errorw("SSM plugin: cannot read the pod's own identity, so no mTLS port", zap.String("certDir", opts.CertDir), zap.Error(err))
			close(p.stopped)
			return p
		}
		trustDomain = own.TrustDomain
	}
	peers := NewPeers(trustDomain, namespace, opts.SystemNamespace)
	// Each failed handshake is logged; the refused-peers metric already
	// counts them, so the lines go to debug rather than flood the log.
	errorLog, err := zap.NewStdLogAt(logger.Desugar(), zap.DebugLevel)
	if err != nil {
		errorLog = zap.NewStdLog(logger.Desugar())
	}
	server := newMTLSServer(source, peers, mtlsServerConfig{
		upstream: opts.Upstream,
		// A forwarded connection is silent while the function computes its
		// first byte, which Knative allows for up to the revision's timeout.
		idleTimeout: max(idleTimeout, opts.RevisionTimeout),
		forwarded:   forwarded,
		metrics:     m,
		errorLog:    errorLog,
	})
	listener, err := net.Listen("tcp", opts.MTLSAddr)
	if err != nil {
		// Pool traffic cannot arrive, but nothing is let in that should not
		// be: the main-port guard stands on its own.
		logger.Errorw("SSM plugin: cannot listen for mTLS", zap.String("address", opts.MTLSAddr), zap.Error(err))
		close(p.stopped)
		return p
	}
	p.mtlsAddr = listener.Addr()
	logger.Infow("SSM plugin active", zap.Stringer("mtlsAddress", p.mtlsAddr),
		zap.Bool("requireMTLS", p.Settings.RequireMTLS), zap.Duration("deadline", p.Settings.Timeout),
		zap.String("certDir", opts.CertDir), zap.String("trustDomain", trustDomain))
	go serveUntilDone(ctx, logger, server, listener, opts.DrainDelay, p.stopped)
	return p
}

// readSettings decides the pod's Settings from its annotations file. No file
// means no qpoption annotation at all, so the plugin is off; a file that
// cannot be read or parsed may still hold the switch, so the plugin fails
// closed.
func readSettings(logger *zap.SugaredLogger, opts Options) Settings {
	data, err := os.ReadFile(opts.AnnotationsPath)
	if errors.Is(err, fs.ErrNotExist) {
		logger.Infow("SSM plugin off: no podinfo annotations", zap.String("path", opts.AnnotationsPath))
		return Settings{}
	}
	if err == nil {
		var annotations map[string]string
		annotations, err = ParsePodInfoAnnotations(data)
		if err == nil {
			return DecideSettings(annotations, opts.RevisionTimeout)
		}
	}
	return Settings{Active: true, RequireMTLS: true,
		Problem: fmt.Sprintf("reading %s: %v", opts.AnnotationsPath, err)}
}

func serveUntilDone(ctx context.Context, logger *zap.SugaredLogger, server *MTLSServer, l net.Listener,
	drainDelay time.Duration, stopped chan<- struct{}) {
	defer close(stopped)
	served := make(chan error, 1)
	go func() { served <- server.Serve(l) }()
	select {
	case err := <-served:
		logger.Errorw("SSM plugin: mTLS server stopped", zap.Error(err))
		return
	case <-ctx.Done():
	}
	if drainDelay > 0 {
		timer := time.NewTimer(drainDelay)
		select {
		case <-timer.C:
		case err := <-served:
			timer.Stop()
			logger.Errorw("SSM plugin: mTLS server stopped while draining", zap.Error(err))
			return
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainDelay+10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		logger.Warnw("SSM plugin: mTLS server did not drain", zap.Error(err))
	}
	<-served
}
