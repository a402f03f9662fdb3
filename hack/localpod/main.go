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

// Command localpod turns a Pod (from the API, or the pod template of a
// Deployment manifest) into what the local cluster needs to run it as a
// process, so that hack/cluster.sh starts each component exactly as its
// manifest says instead of restating its arguments and environment:
//
//	localpod template -file F.yaml -name POD        a Deployment's pod as Pod JSON
//	localpod argv -pod P.json -ip IP -image IMG=BIN...  the command line (NUL-separated)
//	localpod replicas -file F.yaml                     the Deployment's spec.replicas
//	localpod probe -pod P.json -ip IP                  exit 0 if the readiness probe passes
//	localpod status -pod P.json -ip IP -ready=BOOL     the status a kubelet would report (JSON)
//	localpod secret-sync -kubeconfig K -namespace NS -name S -dir D
//	                                                   keep D in step with Secret NS/S, as the kubelet
//	                                                   refreshes a mounted Secret, until killed
//
// A pod is a JSON file (kubectl get pod -o json, or template's output).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/serverless-mesh/ssm/test/kubelet"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: localpod template|argv|replicas|probe|status|secret-sync [flags]"))
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "template":
		err = cmdTemplate(args)
	case "argv":
		err = cmdArgv(args)
	case "replicas":
		err = cmdReplicas(args)
	case "probe":
		err = cmdProbe(args)
	case "status":
		err = cmdStatus(args)
	case "secret-sync":
		err = cmdSecretSync(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localpod:", err)
	os.Exit(1)
}

// imageFlags maps image references to the binaries that stand in for them.
type imageFlags map[string]string

func (f imageFlags) String() string { return fmt.Sprint(map[string]string(f)) }
func (f imageFlags) Set(v string) error {
	image, bin, ok := strings.Cut(v, "=")
	if !ok || image == "" || bin == "" {
		return fmt.Errorf("want IMAGE=BINARY, got %q", v)
	}
	f[image] = bin
	return nil
}

// envFlags are extra NAME=VALUE pairs.
type envFlags []string

func (f *envFlags) String() string { return strings.Join(*f, ",") }
func (f *envFlags) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	*f = append(*f, v)
	return nil
}

// readDeployment reads the one Deployment in a (multi-document) manifest.
func readDeployment(path string) (*appsv1.Deployment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var found *appsv1.Deployment
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var meta metav1.TypeMeta
		if err := json.Unmarshal(raw, &meta); err != nil || meta.Kind != "Deployment" {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%s: more than one Deployment", path)
		}
		found = &appsv1.Deployment{}
		if err := json.Unmarshal(raw, found); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s: no Deployment", path)
	}
	return found, nil
}

func cmdTemplate(args []string) error {
	fs := flag.NewFlagSet("template", flag.ExitOnError)
	file := fs.String("file", "", "the Deployment manifest")
	name := fs.String("name", "", "the pod's name")
	namespace := fs.String("namespace", "", "the pod's namespace when the manifest names none")
	_ = fs.Parse(args)
	d, err := readDeployment(*file)
	if err != nil {
		return err
	}
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(),
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
	pod.Name, pod.Namespace = *name, d.Namespace
	if pod.Namespace == "" {
		pod.Namespace = *namespace
	}
	return json.NewEncoder(os.Stdout).Encode(pod)
}

func cmdReplicas(args []string) error {
	fs := flag.NewFlagSet("replicas", flag.ExitOnError)
	file := fs.String("file", "", "the Deployment manifest")
	_ = fs.Parse(args)
	d, err := readDeployment(*file)
	if err != nil {
		return err
	}
	replicas := int32(1) // the API's default
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	fmt.Println(replicas)
	return nil
}

// cmdSecretSync is the kubelet's refresh of a mounted Secret for processes
// hack/cluster.sh starts outside test/podrunner (SSM's activator, the
// stand-ins): their certificate directories follow renewals and CA
// rotations as a pod's Secret volume does.
func cmdSecretSync(args []string) error {
	fs := flag.NewFlagSet("secret-sync", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "the kubeconfig to read the Secret with")
	namespace := fs.String("namespace", "", "the Secret's namespace")
	name := fs.String("name", "", "the Secret's name")
	dir := fs.String("dir", "", "the directory to publish it in")
	period := fs.Duration("period", time.Second, "how often to look at the Secret")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *namespace == "" || *name == "" || *dir == "" {
		return errors.New("secret-sync: -kubeconfig, -namespace, -name and -dir are required")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	kubelet.SyncSecretVolume(ctx, kube, *namespace, *name, *dir, "", *period, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "secret-sync: "+format+"\n", args...)
	})
	return nil
}

// readPod reads a Pod as JSON from path.
func readPod(path string) (*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pod corev1.Pod
	if err := json.Unmarshal(data, &pod); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(pod.Spec.Containers) != 1 {
		return nil, fmt.Errorf("pod %s/%s has %d containers; only single-container pods are run this way",
			pod.Namespace, pod.Name, len(pod.Spec.Containers))
	}
	return &pod, nil
}

func cmdArgv(args []string) error {
	fs := flag.NewFlagSet("argv", flag.ExitOnError)
	podFile := fs.String("pod", "", "the pod, as JSON")
	ip := fs.String("ip", "", "the pod's IP")
	hostIP := fs.String("host-ip", "", "the node's IP")
	images := imageFlags{}
	fs.Var(images, "image", "IMAGE=BINARY: the binary that runs IMAGE (repeatable)")
	var extra envFlags
	fs.Var(&extra, "env", "NAME=VALUE added to the container's environment (repeatable)")
	_ = fs.Parse(args)
	pod, err := readPod(*podFile)
	if err != nil {
		return err
	}
	argv, err := commandLine(pod, *ip, *hostIP, images, extra)
	if err != nil {
		return err
	}
	for _, a := range argv {
		fmt.Print(a, "\x00")
	}
	return nil
}

// commandLine is the pod's single container as a command: a fresh
// environment (env -i) with the container's variables resolved as the
// kubelet resolves them, its own host name (the pod's name, which
// knative.dev/pkg's leader election puts in its identity), then the binary
// standing in for the image with the container's command and args, $(VAR)
// references expanded.
func commandLine(pod *corev1.Pod, ip, hostIP string, images imageFlags, extra []string) ([]string, error) {
	c := pod.Spec.Containers[0]
	bin, ok := images[c.Image]
	if !ok {
		return nil, fmt.Errorf("pod %s/%s: no binary for image %q (pass -image %s=BINARY)", pod.Namespace, pod.Name, c.Image, c.Image)
	}
	env, problems := kubelet.Env(pod, &c, ip, hostIP)
	if len(problems) > 0 {
		// A kubelet would not start the container either.
		return nil, errors.Join(problems...)
	}
	// Args may refer to the container's own variables, which follow Env's
	// PATH and HOSTNAME.
	vars := map[string]string{}
	for _, kv := range env[2:] {
		name, v, _ := strings.Cut(kv, "=")
		vars[name] = v
	}
	env = append(env, extra...)
	if len(c.Command) > 0 {
		return nil, fmt.Errorf("pod %s/%s: container %s overrides the image's command; only args are supported", pod.Namespace, pod.Name, c.Name)
	}
	argv := []string{"unshare", "--uts", "sh", "-c", `hostname "$0" && exec "$@"`, pod.Name, "env", "-i"}
	argv = append(argv, env...)
	argv = append(argv, bin)
	for _, a := range c.Args {
		argv = append(argv, kubelet.Expand(a, vars))
	}
	return argv, nil
}

func cmdProbe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	podFile := fs.String("pod", "", "the pod, as JSON")
	ip := fs.String("ip", "", "the pod's IP")
	_ = fs.Parse(args)
	pod, err := readPod(*podFile)
	if err != nil {
		return err
	}
	// A kubelet neither verifies a probe's certificate nor follows redirects.
	return kubelet.Probe(context.Background(), kubelet.ProbeClient(), &pod.Spec.Containers[0], *ip)
}

func cmdStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	podFile := fs.String("pod", "", "the pod, as JSON")
	ip := fs.String("ip", "", "the pod's IP")
	hostIP := fs.String("host-ip", "", "the node's IP")
	ready := fs.Bool("ready", false, "whether the container passes its readiness probe")
	_ = fs.Parse(args)
	pod, err := readPod(*podFile)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"status": podStatus(pod, *ip, *hostIP, *ready, metav1.Now())})
}

// podStatus is what a kubelet reports for the running pod.
func podStatus(pod *corev1.Pod, ip, hostIP string, ready bool, now metav1.Time) corev1.PodStatus {
	readyStatus := corev1.ConditionFalse
	if ready {
		readyStatus = corev1.ConditionTrue
	}
	st := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		HostIP:    hostIP,
		HostIPs:   []corev1.HostIP{{IP: hostIP}},
		StartTime: &now,
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: readyStatus, LastTransitionTime: now})
	}
	sort.Slice(st.Conditions, func(i, j int) bool { return st.Conditions[i].Type < st.Conditions[j].Type })
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: ready, Started: &ready,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	return st
}
