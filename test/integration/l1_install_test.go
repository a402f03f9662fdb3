//go:build integration

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

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	apierrs "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"

	"github.com/serverless-mesh/ssm/pkg/identity"
)

// configDir is the repository's config/, what users apply.
func configDir(t *testing.T) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", "config")
}

// manifestObject is one document of config/.
type manifestObject struct {
	file string
	meta metav1.TypeMeta
	name string
	raw  json.RawMessage
}

func readConfig(t *testing.T) []manifestObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(configDir(t), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in config/: %v", err)
	}
	var out []manifestObject
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
				continue
			}
			var obj struct {
				metav1.TypeMeta
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, manifestObject{file: filepath.Base(f), meta: obj.TypeMeta, name: obj.Metadata.Name, raw: raw})
		}
	}
	return out
}

// TestL1InstallInOneApply: hack/cluster.sh installed SSM with ONE
// `kubectl apply -f config/` on an apiserver that had never seen SSM (it
// fails the cluster's start otherwise). Its output names every object of
// config/, and the controller then reconciles the default ProxyPool, which
// the apply could not have created together with its CRD.
func TestL1InstallInOneApply(t *testing.T) {
	c := newClients(t)
	log, err := os.ReadFile(filepath.Join(c.stateDir, "logs", "install.log"))
	if err != nil {
		t.Fatalf("reading the output of the one apply: %v", err)
	}
	for _, obj := range readConfig(t) {
		// kubectl prints RESOURCE[.GROUP]/NAME ACTION, RESOURCE being the
		// lower-cased kind.
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(strings.ToLower(obj.meta.Kind)) +
			`(\.[a-z0-9.-]+)?/` + regexp.QuoteMeta(obj.name) + ` (created|configured|unchanged)$`)
		if !re.Match(log) {
			t.Errorf("%s: %s %s is not in the apply's output:\n%s", obj.file, obj.meta.Kind, obj.name, log)
		}
	}

	ctx := context.Background()
	eventually(t, "the default ProxyPool, reconciled by the controller", 60*time.Second, func(ctx context.Context) (bool, error) {
		p, err := c.ssm.SsmV1alpha1().ProxyPools("knative-serving").Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Annotations["ssm.dev/created-by"] != "ssm-controller" {
			return false, fmt.Errorf("ProxyPool default has annotations %v, want ssm.dev/created-by: ssm-controller", p.Annotations)
		}
		if p.Status.ObservedGeneration != p.Generation || p.Status.GetCondition(apis.ConditionReady) == nil {
			return false, fmt.Errorf("ProxyPool default: observedGeneration %d of %d, conditions %v",
				p.Status.ObservedGeneration, p.Generation, p.Status.Conditions)
		}
		return true, nil
	})
	if _, err := c.kube.AppsV1().Deployments("knative-serving").Get(ctx, "ssm-proxy-default", metav1.GetOptions{}); err != nil {
		t.Errorf("the default pool's Envoy Deployment: %v", err)
	}
}

// TestL1ComponentsRunAsShipped: every SSM Deployment of config/ runs with
// the manifest's replica count, all ready, and every replica's process has
// exactly the container's arguments and environment ($(VAR) and fieldRefs
// resolved as the kubelet does), read from /proc, plus only the
// differences test/README.md lists ("As installed").
func TestL1ComponentsRunAsShipped(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	var deployments []appsv1.Deployment
	for _, obj := range readConfig(t) {
		if obj.meta.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := json.Unmarshal(obj.raw, &d); err != nil {
			t.Fatalf("%s: %v", obj.file, err)
		}
		deployments = append(deployments, d)
	}
	if len(deployments) != 3 {
		t.Fatalf("config/ has %d Deployments, want ssm-controller, ssm-pool and ssm-webhook", len(deployments))
	}
	for _, want := range deployments {
		replicas := int32(1)
		if want.Spec.Replicas != nil {
			replicas = *want.Spec.Replicas
		}
		eventually(t, want.Name+": all replicas ready", 60*time.Second, func(ctx context.Context) (bool, error) {
			got, err := c.kube.AppsV1().Deployments(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return got.Status.ReadyReplicas == replicas, fmt.Errorf("%d of %d ready", got.Status.ReadyReplicas, replicas)
		})
		pods := replicaPods(t, c, want.Name)
		if len(pods) != int(replicas) {
			t.Errorf("%s: %d replicas run (%v), config/ asks for %d", want.Name, len(pods), pods, replicas)
		}
		container := want.Spec.Template.Spec.Containers[0]
		for replica, pod := range pods {
			if _, err := c.kube.CoreV1().Pods(want.Namespace).Get(ctx, pod, metav1.GetOptions{}); apierrs.IsNotFound(err) {
				t.Errorf("%s runs pod %s, which does not exist", replica, pod)
				continue
			}
			args, env := processOf(t, c, replica)
			wantEnv := map[string]string{"HOSTNAME": pod}
			for _, e := range container.Env {
				switch {
				case e.ValueFrom == nil:
					wantEnv[e.Name] = e.Value
				case e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
					wantEnv[e.Name] = want.Namespace
				case e.ValueFrom.FieldRef.FieldPath == "metadata.name":
					wantEnv[e.Name] = pod
				default:
					t.Fatalf("%s: env %s: fieldRef %s: teach this test its value", want.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
				}
			}
			if want.Name == "ssm-controller" {
				// The one setting hack/cluster.sh changes before applying, as
				// a user would (SSM_TRUST_DOMAIN).
				wantEnv["SSM_TRUST_DOMAIN"] = localTrustDomain(t, c)
			}
			for _, allowed := range []string{"PATH", "KUBECONFIG"} {
				if _, ok := env[allowed]; !ok {
					t.Errorf("%s: no %s in the environment", replica, allowed)
				}
				delete(env, allowed)
			}
			if diff := cmp.Diff(wantEnv, env); diff != "" {
				t.Errorf("%s: environment differs from %s's container (-manifest +process):\n%s", replica, want.Name, diff)
			}
			wantArgs := []string{}
			for _, a := range container.Args {
				wantArgs = append(wantArgs, strings.ReplaceAll(a, "$(SYSTEM_NAMESPACE)", want.Namespace))
			}
			if diff := cmp.Diff(wantArgs, args); diff != "" {
				t.Errorf("%s: arguments differ from %s's container (-manifest +process):\n%s", replica, want.Name, diff)
			}
			if strings.Contains(strings.Join(args, " "), "disable-ha") {
				t.Errorf("%s runs with leader election off: %v", replica, args)
			}
		}
	}
}

// processOf reads the arguments (without the binary) and environment of the
// process hack/cluster.sh started for replica: every wrapper on its way
// (ip netns exec, setsid, unshare, sh, env) execs, so the recorded pid is
// the component's.
func processOf(t *testing.T, c *clients, replica string) ([]string, map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.stateDir, "pids", replica))
	if err != nil {
		t.Fatalf("%s: %v", replica, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("%s: pid %q: %v", replica, data, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("%s: %v", replica, err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatalf("%s: %v", replica, err)
	}
	argv := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
	// Replica ssm-controller-0 runs the binary built from cmd/controller.
	deployment := replica[:strings.LastIndex(replica, "-")]
	if want := "/" + strings.TrimPrefix(deployment, "ssm-"); !strings.HasSuffix(argv[0], want) {
		t.Errorf("%s: process runs %q, want the binary of cmd%s", replica, argv[0], want)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return argv[1:], env
}

// localTrustDomain is the trust domain hack/cluster.sh installed SSM with.
func localTrustDomain(t *testing.T, c *clients) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.stateDir, "trust-domain"))
	if err != nil {
		t.Fatalf("the local cluster's trust domain: %v", err)
	}
	return strings.TrimSpace(string(data))
}

// TestL1TrustDomainFromOnePlace: the local cluster sets a non-default trust
// domain only on the controller; every certificate the controller issued
// names it, and ssm-pool serves with it (the data-plane tests then prove
// that ssm-pool, the activator and the plugin accept each other in it).
func TestL1TrustDomainFromOnePlace(t *testing.T) {
	c := newClients(t)
	trustDomain := localTrustDomain(t, c)
	if trustDomain == "cluster.local" {
		t.Fatalf("the local cluster runs the default trust domain; this test needs another")
	}
	for _, secret := range []string{"ssm-pool-tls", "ssm-controller-tls", "ssm-activator-tls"} {
		eventually(t, secret+" in trust domain "+trustDomain, 60*time.Second, func(ctx context.Context) (bool, error) {
			s, err := c.kube.CoreV1().Secrets("knative-serving").Get(ctx, secret, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			id, err := identity.IDOfCertificatePEM(s.Data["tls.crt"])
			if err != nil {
				return false, err
			}
			return id.TrustDomain == trustDomain, fmt.Errorf("%s names %s", secret, id)
		})
	}
}
