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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serverless-mesh/ssm/test/kubelet"
)

// start brings rp up: address, network namespace, volumes, containers, then
// status Running; readiness follows from the probes. The caller holds rp.mu.
func (r *Runner) start(ctx context.Context, rp *runningPod, pod *corev1.Pod) error {
	ip, err := r.ips.allocate()
	if err != nil {
		return err
	}
	rp.ip = ip
	if err := os.MkdirAll(rp.dir, 0o755); err != nil {
		return fmt.Errorf("pod dir %s: %w", rp.dir, err)
	}
	if err := createNetns(rp.netns, r.cfg.Bridge, ip, r.ips.gateway(), r.cfg.PodCIDR.Bits(), pod.Name); err != nil {
		return err
	}
	volumes, err := writeDownwardVolumes(rp.dir, pod)
	if err != nil {
		return err
	}
	secrets, err := r.writeSecretVolumes(ctx, rp.dir, pod, volumes)
	if err != nil {
		return err
	}
	// As the kubelet, keep each Secret volume in step with its Secret for
	// the pod's life: a renewed certificate, or a CA rotation's new trust
	// bundle, reaches the running pod.
	syncCtx, stopSync := context.WithCancel(ctx)
	rp.stopSync = stopSync
	for dir, v := range secrets {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			kubelet.SyncSecretVolume(syncCtx, r.kc, pod.Namespace, v.name, dir, v.written, secretSyncPeriod, func(format string, args ...any) {
				log.Printf("pod %s/%s: "+format, append([]any{pod.Namespace, pod.Name}, args...)...)
			})
		}()
	}
	for _, c := range pod.Spec.Containers {
		bin := r.cfg.FunctionBin
		if c.Image == r.cfg.QueueImage {
			bin = r.cfg.QueueBin
		}
		var mounts []mount
		for _, vm := range c.VolumeMounts {
			if src, ok := volumes[vm.Name]; ok {
				mounts = append(mounts, mount{source: src, target: vm.MountPath})
			}
		}
		// A kubelet would refuse to start the container; the runner runs it
		// with the variable empty and says so.
		env, problems := kubelet.Env(pod, &c, ip.String(), r.cfg.HostIP)
		for _, p := range problems {
			log.Print(p)
		}
		p, err := startProcess(c.Name, rp.netns, bin, env, mounts, filepath.Join(rp.dir, c.Name+".log"))
		if err != nil {
			return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		rp.procs = append(rp.procs, p)
	}
	log.Printf("pod %s/%s: started at %s in %s (logs %s)", pod.Namespace, pod.Name, ip, rp.netns, rp.dir)
	if err := r.setRunning(ctx, pod, rp, nil); err != nil {
		return err
	}
	probeCtx, cancel := context.WithTimeout(ctx, r.cfg.ReadyTimeout)
	rp.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		ready, err := waitReady(probeCtx, pod, ip.String())
		if err != nil {
			log.Printf("pod %s/%s: not ready: %v", pod.Namespace, pod.Name, err)
			return
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if rp.stopped {
			return
		}
		if err := r.setRunning(ctx, pod, rp, ready); err != nil {
			log.Printf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
			return
		}
		log.Printf("pod %s/%s: ready", pod.Namespace, pod.Name)
	}()
	return nil
}

// writeDownwardVolumes writes the pod's downwardAPI volumes (labels and
// annotations, in the kubelet's key="value" format) under dir and returns
// volume name → directory.
func writeDownwardVolumes(dir string, pod *corev1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		if v.DownwardAPI == nil {
			continue
		}
		vdir := filepath.Join(dir, "volumes", v.Name)
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		for _, item := range v.DownwardAPI.Items {
			if item.FieldRef == nil {
				continue
			}
			var m map[string]string
			switch item.FieldRef.FieldPath {
			case "metadata.annotations":
				m = pod.Annotations
			case "metadata.labels":
				m = pod.Labels
			default:
				continue
			}
			if err := os.WriteFile(filepath.Join(vdir, item.Path), []byte(formatMap(m)), 0o644); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
		out[v.Name] = vdir
	}
	return out, nil
}

// secretSyncPeriod is how often a running pod's Secret volumes are
// compared with their Secrets; the kubelet's default sync is a minute, but
// tests need not wait for it.
const secretSyncPeriod = time.Second

// writeSecretVolumes writes the pod's Secret volumes under dir in the
// kubelet's layout (kubelet.WriteSecretVolume) and adds them to volumes. A
// missing optional Secret is an empty directory, as the kubelet mounts it;
// a missing required one fails the pod's start. It returns each volume's
// directory with its Secret, for the refresh that follows.
func (r *Runner) writeSecretVolumes(ctx context.Context, dir string, pod *corev1.Pod, volumes map[string]string) (map[string]secretVolume, error) {
	secrets := map[string]secretVolume{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret == nil {
			continue
		}
		vdir := filepath.Join(dir, "volumes", v.Name)
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		secret, err := r.secretWhenIssued(ctx, pod.Namespace, v.Secret.SecretName)
		written := ""
		switch {
		case apierrs.IsNotFound(err) && v.Secret.Optional != nil && *v.Secret.Optional:
		case err != nil:
			return nil, fmt.Errorf("volume %s: Secret %s/%s: %w", v.Name, pod.Namespace, v.Secret.SecretName, err)
		default:
			if err := kubelet.WriteSecretVolume(vdir, secret.Data); err != nil {
				return nil, fmt.Errorf("volume %s: %w", v.Name, err)
			}
			written = secret.ResourceVersion
		}
		volumes[v.Name] = vdir
		secrets[vdir] = secretVolume{name: v.Secret.SecretName, written: written}
	}
	return secrets, nil
}

// secretVolume is the Secret a volume projects and the resourceVersion
// last written into it.
type secretVolume struct {
	name, written string
}

// secretWhenIssued reads a Secret, waiting a bounded while for one that
// does not exist yet: a controller may issue it (SSM's workload
// certificates) just after the pod was created, and the kubelet would
// project it once it appears rather than never.
func (r *Runner) secretWhenIssued(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := r.kc.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if !apierrs.IsNotFound(err) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// formatMap is the kubelet's downward API format: sorted key="value" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, m[k])
	}
	return b.String()
}
