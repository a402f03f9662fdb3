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
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclientset "knative.dev/serving/pkg/client/clientset/versioned"

	ssmclientset "github.com/serverless-mesh/ssm/pkg/client/clientset/versioned"
)

const (
	benchNS = "bench-cold"
	// The ProxyPool the short-lived revision leases from, whose proxies
	// are hack/cluster.sh's stand-ins.
	poolNS, poolName = "knative-serving", "default"
	pollInterval     = 100 * time.Millisecond
)

type clients struct {
	kube    kubernetes.Interface
	serving servingclientset.Interface
	ssm     ssmclientset.Interface
}

func newClients(cfg *rest.Config) (*clients, error) {
	cfg.QPS, cfg.Burst = 100, 200
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	serving, err := servingclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("serving client: %w", err)
	}
	ssm, err := ssmclientset.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("ssm client: %w", err)
	}
	return &clients{kube: kube, serving: serving, ssm: ssm}, nil
}

// setUp sets the default pool's idle timeout (unless poolIdle is 0),
// creates both variants' Services and waits until they are Ready. The
// returned function undoes what was done (also after an error).
func setUp(ctx context.Context, c *clients, poolIdle time.Duration) (func(), error) {
	var undo []func()
	restore := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	if poolIdle > 0 {
		if err := setPoolIdleTimeout(ctx, c, poolIdle, &undo); err != nil {
			return restore, err
		}
	}
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}},
		metav1.CreateOptions{}); err != nil && !apierrs.IsAlreadyExists(err) {
		return restore, fmt.Errorf("namespace %s: %w", benchNS, err)
	}
	for _, v := range variants {
		ksvc := &servingv1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: v.service, Namespace: benchNS},
			Spec: servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					// hack/cluster.sh's test/podrunner runs pods with this label.
					Labels:      map[string]string{"ssm.dev/local-run": "true"},
					Annotations: v.annotations,
				},
				Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: "ssm.local/hello"}}}},
			}}},
		}
		if _, err := c.serving.ServingV1().Services(benchNS).Create(ctx, ksvc, metav1.CreateOptions{}); err != nil {
			return restore, fmt.Errorf("creating Knative Service %s/%s: %w", benchNS, v.service, err)
		}
		undo = append(undo, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.serving.ServingV1().Services(benchNS).Delete(ctx, v.service, metav1.DeleteOptions{}); err != nil {
				fmt.Fprintf(os.Stderr, "coldpath: deleting Knative Service %s/%s: %v\n", benchNS, v.service, err)
			}
		})
	}
	for _, v := range variants {
		err := poll(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
			s, err := c.serving.ServingV1().Services(benchNS).Get(ctx, v.service, metav1.GetOptions{})
			return err == nil && s.IsReady(), err
		})
		if err != nil {
			return restore, fmt.Errorf("Knative Service %s/%s not Ready: %w", benchNS, v.service, err)
		}
	}
	return restore, nil
}

// setPoolIdleTimeout sets the default pool's idleTimeout and appends the
// restoring of the previous one to undo.
func setPoolIdleTimeout(ctx context.Context, c *clients, idle time.Duration, undo *[]func()) error {
	pool, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Get(ctx, poolName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("ProxyPool %s/%s (run on a cluster with SSM_DATAPLANE=1): %w", poolNS, poolName, err)
	}
	previous := pool.Spec.IdleTimeout
	pool.Spec.IdleTimeout = &metav1.Duration{Duration: idle}
	if _, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Update(ctx, pool, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("setting ProxyPool %s/%s idleTimeout: %w", poolNS, poolName, err)
	}
	*undo = append(*undo, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := c.ssm.SsmV1alpha1().ProxyPools(poolNS).Get(ctx, poolName, metav1.GetOptions{})
		if err == nil {
			p.Spec.IdleTimeout = previous
			_, err = c.ssm.SsmV1alpha1().ProxyPools(poolNS).Update(ctx, p, metav1.UpdateOptions{})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "coldpath: restoring ProxyPool %s/%s idleTimeout: %v\n", poolNS, poolName, err)
		}
	})
	return nil
}

// waitScaledToZero waits until the revision has no pod.
func (c *clients) waitScaledToZero(ctx context.Context, revision string) error {
	err := poll(ctx, 3*time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := c.kube.CoreV1().Pods(benchNS).List(ctx, metav1.ListOptions{
			LabelSelector: "serving.knative.dev/revision=" + revision})
		return err == nil && len(pods.Items) == 0, err
	})
	if err != nil {
		return fmt.Errorf("%s not scaled to zero: %w", revision, err)
	}
	return nil
}

// poll calls cond every pollInterval until it is true or within runs out;
// the error is cond's last one, or the deadline's.
func poll(ctx context.Context, within time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond(ctx)
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return last
		case <-tick.C:
		}
	}
}
