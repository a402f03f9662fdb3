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
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/serverless-mesh/ssm/test/kubelet"
)

// setRunning writes the pod's status as a kubelet would for running
// containers; ready (nil before the probes pass) marks them Ready.
func (r *Runner) setRunning(ctx context.Context, pod *corev1.Pod, rp *runningPod, ready map[string]bool) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := r.kc.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		if cur.UID != pod.UID || cur.DeletionTimestamp != nil {
			return nil
		}
		now := metav1.Now()
		st := &cur.Status
		st.Phase = corev1.PodRunning
		st.HostIP = r.cfg.HostIP
		st.HostIPs = []corev1.HostIP{{IP: r.cfg.HostIP}}
		st.PodIP = rp.ip.String()
		st.PodIPs = []corev1.PodIP{{IP: rp.ip.String()}}
		if st.StartTime == nil {
			st.StartTime = &now
		}
		allReady := ready != nil
		st.ContainerStatuses = st.ContainerStatuses[:0]
		for i, c := range pod.Spec.Containers {
			started := metav1.NewTime(rp.procs[i].started)
			isReady := ready != nil && (ready[c.Name] || c.ReadinessProbe == nil)
			allReady = allReady && isReady
			st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, ImageID: c.Image,
				ContainerID: "podrunner://" + strconv.Itoa(rp.procs[i].cmd.Process.Pid),
				Ready:       isReady, Started: ptr(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
			})
		}
		status := corev1.ConditionFalse
		if allReady {
			status = corev1.ConditionTrue
		}
		setCondition(st, corev1.PodInitialized, corev1.ConditionTrue, now)
		setCondition(st, corev1.ContainersReady, status, now)
		setCondition(st, corev1.PodReady, status, now)
		_, err = r.kc.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func ptr[T any](v T) *T { return &v }

func setCondition(st *corev1.PodStatus, t corev1.PodConditionType, s corev1.ConditionStatus, now metav1.Time) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status != s {
				st.Conditions[i].Status, st.Conditions[i].LastTransitionTime = s, now
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now})
}

// waitReady polls every container's HTTP readiness probe until each answers
// 2xx/3xx (what the kubelet counts as success) or ctx ends; it returns the
// containers found ready.
func waitReady(ctx context.Context, pod *corev1.Pod, podIP string) (map[string]bool, error) {
	client := kubelet.ProbeClient()
	ready := map[string]bool{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		pending := 0
		for _, c := range pod.Spec.Containers {
			if ready[c.Name] || c.ReadinessProbe == nil {
				continue
			}
			// exec/TCP probes: none of the containers run here use them.
			if err := kubelet.Probe(ctx, client, &c, podIP); err == nil || errors.Is(err, kubelet.ErrUnsupportedProbe) {
				ready[c.Name] = true
				continue
			}
			pending++
		}
		if pending == 0 {
			return ready, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("readiness probes: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// finishDeletion does what the kubelet does once a terminating pod's
// containers have exited: it drops the pod's finalizers, if any, and
// deletes it for good.
func (r *Runner) finishDeletion(ctx context.Context, ns, name string, uid types.UID) error {
	pods := r.kc.CoreV1().Pods(ns)
	cur, err := pods.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", ns, name, err)
	}
	if cur.UID != uid {
		return nil
	}
	if len(cur.Finalizers) > 0 {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": nil}})
		if _, err := pods.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pod %s/%s: removing finalizers: %w", ns, name, err)
		}
	}
	err = pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("pod %s/%s: deleting: %w", ns, name, err)
	}
	return nil
}
