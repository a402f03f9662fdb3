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
	"log"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// LocalRunLabel marks the pods this runner owns; KWOK's pod stages skip them
// (hack/cluster.sh writes the stages so).
const LocalRunLabel = "ssm.dev/local-run"

func main() {
	var cfg Config
	var kubeconfig, prefix, hostsNetns string
	flag.StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig")
	flag.StringVar(&cfg.Node, "node", "kwok-node-0", "node whose pods to run")
	flag.StringVar(&prefix, "pod-cidr", "10.244.1.0/24", "pod addresses; the bridge holds the first")
	flag.StringVar(&cfg.Bridge, "bridge", "br0", "bridge the pods' veths join")
	flag.StringVar(&cfg.HostIP, "host-ip", "10.200.0.1", "the node's address (status.hostIP)")
	flag.StringVar(&cfg.QueueImage, "queue-image", "ssm.local/queue", "image run as -queue-bin")
	flag.StringVar(&cfg.QueueBin, "queue-bin", "", "queue-proxy binary (cmd/queue)")
	flag.StringVar(&cfg.FunctionBin, "function-bin", "", "binary for every other image (test/function)")
	flag.StringVar(&cfg.StateDir, "state-dir", "", "per-pod files and container logs go under here")
	flag.DurationVar(&cfg.KillAfter, "kill-after", 3*time.Second, "SIGKILL this long after SIGTERM (bounds the pod's grace period)")
	flag.StringVar(&hostsNetns, "hosts-netns", "", "comma-separated network namespaces whose hosts files get every Service's ClusterIP (no cluster DNS here)")
	flag.DurationVar(&cfg.ReadyTimeout, "ready-timeout", 60*time.Second, "give up probing a pod's readiness after this")
	flag.Parse()

	p, err := netip.ParsePrefix(prefix)
	if err != nil || !p.Addr().Is4() {
		log.Fatalf("-pod-cidr %q: want an IPv4 prefix", prefix)
	}
	cfg.PodCIDR = p.Masked()
	if cfg.QueueBin == "" || cfg.FunctionBin == "" || cfg.StateDir == "" {
		log.Fatal("-queue-bin, -function-bin and -state-dir are required")
	}
	var netns []string
	if hostsNetns != "" {
		netns = strings.Split(hostsNetns, ",")
	}
	if err := run(kubeconfig, cfg, netns); err != nil {
		log.Fatal(err)
	}
}

func run(kubeconfig string, cfg Config, hostsNetns []string) error {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	rc.QPS, rc.Burst = 100, 200
	kc, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	r, err := NewRunner(kc, cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(kc, 0, informers.WithTweakListOptions(
		func(o *metav1.ListOptions) {
			o.LabelSelector = LocalRunLabel + "=true"
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.Node).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.Observe(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { r.Observe(ctx, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				r.Deleted(ctx, pod)
			}
		},
	}); err != nil {
		return fmt.Errorf("pod informer: %w", err)
	}
	if len(hostsNetns) > 0 {
		svcFactory := informers.NewSharedInformerFactory(kc, 0)
		svcInf := svcFactory.Core().V1().Services().Informer()
		hw, err := newHostsWriter(hostsNetns, svcInf.GetStore())
		if err != nil {
			return err
		}
		defer hw.restore()
		if _, err := svcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { hw.sync() },
			UpdateFunc: func(_, _ any) { hw.sync() },
			DeleteFunc: func(any) { hw.sync() },
		}); err != nil {
			return fmt.Errorf("service informer: %w", err)
		}
		svcFactory.Start(ctx.Done())
		defer svcFactory.Shutdown()
	}
	factory.Start(ctx.Done())
	log.Printf("podrunner: running pods labelled %s=true on %s at %s", LocalRunLabel, cfg.Node, cfg.PodCIDR)
	<-ctx.Done()
	factory.Shutdown()
	// Everything this runner made goes with it.
	r.StopAll()
	log.Print("podrunner: stopped")
	return nil
}
