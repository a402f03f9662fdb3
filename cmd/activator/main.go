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

// Command activator is Knative's activator, built from knative.dev/serving's
// packages, with SSM's lease hook around its throttler (see pkg/activator).
// Without the activator's identity the hook is off and the binary behaves
// as the stock one.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	netcfg "knative.dev/networking/pkg/config"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	configmapinformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	pkglogging "knative.dev/pkg/logging"
	"knative.dev/pkg/logging/logkey"
	pkgnet "knative.dev/pkg/network"
	knativetls "knative.dev/pkg/network/tls"
	k8sruntime "knative.dev/pkg/observability/runtime/k8s"
	"knative.dev/pkg/signals"
	"knative.dev/pkg/system"
	"knative.dev/pkg/version"
	"knative.dev/pkg/websocket"
	knactivator "knative.dev/serving/pkg/activator"
	"knative.dev/serving/pkg/activator/certificate"
	activatorconfig "knative.dev/serving/pkg/activator/config"
	activatorhandler "knative.dev/serving/pkg/activator/handler"
	activatornet "knative.dev/serving/pkg/activator/net"
	asmetrics "knative.dev/serving/pkg/autoscaler/metrics"
	"knative.dev/serving/pkg/networking"
	o11yconfigmap "knative.dev/serving/pkg/observability/configmap"
	"knative.dev/serving/pkg/observability/otel"
)

const (
	component = "activator"
	// autoscalerPort is where the autoscaler takes the activator's stats.
	autoscalerPort = 8080
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ctx, informers := injection.Default.SetupInformers(ctx, injection.ParseAndGetRESTConfigOrDie())
	var s settings
	if err := envconfig.Process("", &s); err != nil {
		log.Fatal("Reading the environment: ", err)
	}
	kube := kubeclient.Get(ctx)
	waitForAPIServer(ctx, kube)

	logger, level := newLogger(ctx, s.PodName)
	ctx = pkglogging.WithLogger(ctx, logger)
	defer flush(logger)

	pprof := k8sruntime.NewProfilingServer(logger.Named("pprof"))
	mp, tp := otel.SetupObservabilityOrDie(ctx, component, logger, pprof)
	defer func() {
		// Flush what the exporters hold before the process ends.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := mp.Shutdown(ctx); err != nil {
			logger.Errorw("Flushing metrics", zap.Error(err))
		}
		if err := tp.Shutdown(ctx); err != nil {
			logger.Errorw("Flushing traces", zap.Error(err))
		}
	}()

	// Informers are run directly: starting them through their factory
	// would wait forever on those without an event handler.
	if err := controller.StartInformers(ctx.Done(), informers...); err != nil {
		logger.Fatalw("Starting informers", zap.Error(err))
	}
	logger.Info("Starting the activator")

	network := networkConfig(ctx, kube, logger)
	internalTLS := network.SystemInternalTLSEnabled()
	// The throttler's probes and the proxy share one transport, so the
	// connection a probe opened carries the first request.
	transport := pkgnet.NewProxyAutoTransport(s.MaxIdleProxyConns, s.MaxIdleProxyConnsPerHost)
	var certs *certificate.CertCache
	if internalTLS {
		logger.Info("system-internal-tls is on: the activator speaks TLS to queue-proxies")
		var err error
		if certs, err = certificate.NewCertCache(ctx); err != nil {
			logger.Fatalw("Creating the certificate cache", zap.Error(err))
		}
		transport = pkgnet.NewProxyAutoTLSTransport(s.MaxIdleProxyConns, s.MaxIdleProxyConnsPerHost, certs.TLSContext())
	}

	activatornet.SetProbeSettings(s.ProbeTimeout, s.ProbeFrequency)
	throttler := activatornet.NewThrottler(ctx, s.PodIP)
	go throttler.Run(ctx, transport, network.EnableMeshPodAddressability, network.MeshCompatibilityMode)

	path := withLeaseHook(ctx, logger, s, stockPath(throttler, transport), internalTLS, mp, tp)
	defer path.close()

	watcher := configmapinformer.NewInformedWatcher(kube, system.Namespace())
	store := activatorconfig.NewStore(logger)
	store.WatchConfigs(watcher)

	// Concurrency reaches the autoscaler over a WebSocket.
	statCh := make(chan []asmetrics.StatMessage)
	defer close(statCh)
	autoscaler := "ws://" + pkgnet.GetServiceHostname("autoscaler", system.Namespace()) + ":" + strconv.Itoa(autoscalerPort)
	logger.Info("Connecting to the autoscaler at ", autoscaler)
	statSink := websocket.NewDurableSendingConnection(autoscaler, logger, knactivator.AutoscalerConnectionOptions(logger, mp)...)
	defer statSink.Shutdown()
	go knactivator.ReportStats(logger, statSink, statCh)
	reporter := activatorhandler.NewConcurrencyReporter(ctx, s.PodName, statCh, mp)
	go reporter.Run(ctx.Done())

	drain := signals.NewContext()
	chain, requestLog, err := requestChain(ctx, handlerDeps{
		logger: logger, podName: s.PodName, path: path, internalTLS: internalTLS,
		meshLB: network.EnableMeshPodAddressability, reporter: reporter, store: store,
		health: readiness(drain, logger, statSink), mp: mp, tp: tp,
	})
	if err != nil {
		logger.Fatalw("Creating the request log handler", zap.Error(err))
	}

	watcher.Watch(pkglogging.ConfigMapName(), pkglogging.UpdateLevelFromConfigMap(logger, level, component))
	watcher.Watch(o11yconfigmap.Name(), followRequestLogConfig(logger, requestLog), pprof.UpdateFromConfigMap)
	if err := watcher.Start(ctx.Done()); err != nil {
		logger.Fatalw("Starting the ConfigMap watcher", zap.Error(err))
	}

	servers := map[string]*http.Server{
		"http1":   pkgnet.NewServer(":"+strconv.Itoa(networking.BackendHTTPPort), chain),
		"h2c":     pkgnet.NewServer(":"+strconv.Itoa(networking.BackendHTTP2Port), chain),
		"profile": pprof.Server,
	}
	errCh := make(chan error, len(servers)+1)
	for name, server := range servers {
		go func() {
			if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errCh <- fmt.Errorf("%s server: %w", name, err)
			}
		}()
	}
	// With system-internal-tls the activator serves TLS as well, never
	// instead of plaintext (knative/serving#12808).
	if internalTLS {
		tlsConfig, err := knativetls.DefaultConfigFromEnv("ACTIVATOR_")
		if err != nil {
			logger.Fatalw("Reading the TLS configuration from the environment", zap.Error(err))
		}
		tlsConfig.GetCertificate = certs.GetCertificate
		server := pkgnet.NewServer(":"+strconv.Itoa(networking.BackendHTTPSPort), chain)
		server.TLSConfig = tlsConfig
		servers["https"] = server
		go func() {
			if err := server.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errCh <- fmt.Errorf("https server: %w", err)
			}
		}()
	}

	select {
	case <-drain.Done():
		logger.Info("Received SIGTERM")
	case err := <-errCh:
		logger.Errorw("A server failed", zap.Error(err))
	}
	// Readiness now fails; give the endpoints time to drop this pod before
	// refusing new requests, then finish the ones in flight.
	logger.Infof("Waiting %v for the endpoints to drop this pod", pkgnet.DefaultDrainTimeout)
	time.Sleep(pkgnet.DefaultDrainTimeout)
	for _, server := range servers {
		_ = server.Shutdown(context.Background())
	}
	logger.Info("Servers shut down")
}

// waitForAPIServer polls the API server's version for up to a minute: the
// activator may start before the API server is reachable.
func waitForAPIServer(ctx context.Context, kube kubernetes.Interface) {
	var err error
	if perr := wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(context.Context) (bool, error) {
		if err = version.CheckMinimumVersion(kube.Discovery()); err != nil {
			log.Print("Getting the Kubernetes version: ", err)
		}
		return err == nil, nil
	}); perr != nil {
		log.Fatal("Timed out getting the Kubernetes version: ", err)
	}
}

func newLogger(ctx context.Context, podName string) (*zap.SugaredLogger, zap.AtomicLevel) {
	cfg, err := sharedmain.GetLoggingConfig(ctx)
	if err != nil {
		log.Fatal("Reading the logging configuration: ", err)
	}
	logger, level := pkglogging.NewLoggerFromConfig(cfg, component)
	return logger.With(zap.String(logkey.ControllerType, component), zap.String(logkey.Pod, podName)), level
}

// networkConfig reads config-network once, at start, as Knative's
// activator does: mesh addressability and internal TLS are fixed for the
// process's life.
func networkConfig(ctx context.Context, kube kubernetes.Interface, logger *zap.SugaredLogger) *netcfg.Config {
	cm, err := kube.CoreV1().ConfigMaps(system.Namespace()).Get(ctx, netcfg.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		logger.Fatalw("Reading the network ConfigMap", zap.Error(err))
	}
	cfg, err := netcfg.NewConfigFromConfigMap(cm)
	if err != nil {
		logger.Fatalw("Parsing the network ConfigMap", zap.Error(err))
	}
	return cfg
}

// readiness fails once SIGTERM arrives, so the pod leaves its endpoints
// while it drains, and otherwise reports the autoscaler connection.
func readiness(drain context.Context, logger *zap.SugaredLogger, statSink *websocket.ManagedConnection) func() error {
	var once sync.Once
	return func() error {
		select {
		case <-drain.Done():
			once.Do(func() { logger.Info("Draining: readiness now fails") })
			return errors.New("received SIGTERM from the kubelet")
		default:
			return statSink.Status()
		}
	}
}

func flush(logger *zap.SugaredLogger) {
	_ = logger.Sync()
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
}
