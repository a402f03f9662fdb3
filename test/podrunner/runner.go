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
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Config is what the runner needs to know about the node it stands in for.
type Config struct {
	Node         string
	PodCIDR      netip.Prefix
	Bridge       string
	HostIP       string
	QueueImage   string
	QueueBin     string
	FunctionBin  string
	StateDir     string
	KillAfter    time.Duration
	ReadyTimeout time.Duration
}

// Runner owns the running pods: their processes, network namespaces and
// addresses. Each pod's start and stop are serialised by its own lock, so a
// pod deleted while starting is stopped once its start returns.
type Runner struct {
	kc  kubernetes.Interface
	cfg Config

	mu   sync.Mutex
	pods map[types.UID]*runningPod
	ips  *allocator
	wg   sync.WaitGroup
}

// runningPod is one pod this runner started (or is starting).
type runningPod struct {
	mu       sync.Mutex
	uid      types.UID
	ns, name string
	netns    string
	dir      string
	ip       netip.Addr
	procs    []*process
	cancel   context.CancelFunc // stops readiness probing
	stopSync context.CancelFunc // stops refreshing Secret volumes
	stopped  bool               // processes and network torn down
	finished bool               // API deletion done, or not needed
}

// NewRunner returns a Runner for cfg.
func NewRunner(kc kubernetes.Interface, cfg Config) (*Runner, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", cfg.StateDir, err)
	}
	return &Runner{kc: kc, cfg: cfg, pods: map[types.UID]*runningPod{}, ips: newAllocator(cfg.PodCIDR)}, nil
}

// Observe is called for every add or update of a pod the runner owns.
func (r *Runner) Observe(ctx context.Context, pod *corev1.Pod) {
	if pod.Spec.NodeName != r.cfg.Node {
		return
	}
	r.mu.Lock()
	rp, known := r.pods[pod.UID]
	if pod.DeletionTimestamp != nil {
		if !known {
			// Never started here (or already gone): nothing to stop, but
			// nobody else will finish the deletion.
			rp = &runningPod{uid: pod.UID, ns: pod.Namespace, name: pod.Name, stopped: true}
			r.pods[pod.UID] = rp
		}
		r.mu.Unlock()
		r.goTerminate(ctx, rp)
		return
	}
	if known {
		r.mu.Unlock()
		return
	}
	rp = &runningPod{uid: pod.UID, ns: pod.Namespace, name: pod.Name,
		netns: "pod-" + string(pod.UID)[:8], dir: filepath.Join(r.cfg.StateDir, string(pod.UID))}
	r.pods[pod.UID] = rp
	r.mu.Unlock()

	pod = pod.DeepCopy()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if rp.stopped {
			return
		}
		if err := r.start(ctx, rp, pod); err != nil {
			log.Printf("pod %s/%s: start: %v", pod.Namespace, pod.Name, err)
			r.teardown(rp)
		}
	}()
}

// Deleted is called when a pod the runner owns is gone from the API.
func (r *Runner) Deleted(ctx context.Context, pod *corev1.Pod) {
	r.mu.Lock()
	rp, ok := r.pods[pod.UID]
	delete(r.pods, pod.UID)
	r.mu.Unlock()
	if !ok {
		return
	}
	rp.mu.Lock()
	rp.finished = true // the API object is gone: nothing left to delete
	rp.mu.Unlock()
	r.goTerminate(ctx, rp)
}

// goTerminate stops rp's processes and then finishes the pod's deletion, as
// a kubelet does once the containers have exited.
func (r *Runner) goTerminate(ctx context.Context, rp *runningPod) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		rp.mu.Lock()
		r.teardown(rp)
		finish := !rp.finished
		rp.finished = true
		rp.mu.Unlock()
		if finish {
			if err := r.finishDeletion(ctx, rp.ns, rp.name, rp.uid); err != nil {
				log.Printf("pod %s/%s: finishing deletion: %v", rp.ns, rp.name, err)
			}
		}
	}()
}

// teardown kills rp's processes and removes what start made. Idempotent;
// the caller holds rp.mu.
func (r *Runner) teardown(rp *runningPod) {
	if rp.cancel != nil {
		rp.cancel()
	}
	if rp.stopSync != nil {
		rp.stopSync()
	}
	if rp.stopped {
		return
	}
	rp.stopped = true
	var wg sync.WaitGroup
	for _, p := range rp.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(r.cfg.KillAfter)
		}()
	}
	wg.Wait()
	if rp.netns != "" {
		if err := removeNetns(rp.netns, r.cfg.Bridge, rp.ip); err != nil {
			log.Printf("pod %s/%s: %v", rp.ns, rp.name, err)
		}
	}
	if rp.ip.IsValid() {
		r.ips.release(rp.ip)
	}
	log.Printf("pod %s/%s: stopped", rp.ns, rp.name)
}

// StopAll stops every pod and waits for the runner's goroutines; the pods'
// API objects stay (the cluster is going down with the runner).
func (r *Runner) StopAll() {
	r.mu.Lock()
	all := make([]*runningPod, 0, len(r.pods))
	for _, rp := range r.pods {
		all = append(all, rp)
	}
	r.mu.Unlock()
	for _, rp := range all {
		rp.mu.Lock()
		r.teardown(rp)
		rp.mu.Unlock()
	}
	r.wg.Wait()
}
