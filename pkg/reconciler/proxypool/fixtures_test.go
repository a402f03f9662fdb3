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

package proxypool

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
)

// Everything expected below is written out by hand, not built by the
// resources package.

const (
	ns        = "fns"
	poolName  = "default"
	poolKey   = ns + "/" + poolName
	poolUID   = "pool-uid"
	image     = "envoyproxy/envoy:v1.37.0"
	proxyName = "ssm-proxy-default"

	// bootstrapHash is sha256sum over "<key>\0<file>\0" for the three files
	// in resources/testdata, in key order (see resources.ConfigMapHash).
	bootstrapHash = "60bcdf527f3533192b9b3f360cdbbc420d7eb61611768a1a68c9eb02c037b50e"
)

var fixedNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

var poolLabels = map[string]string{
	"app.kubernetes.io/managed-by": "ssm",
	"ssm.dev/proxy-pool":           "default",
}

var ownerRefs = []metav1.OwnerReference{{
	APIVersion:         "ssm.dev/v1alpha1",
	Kind:               "ProxyPool",
	Name:               poolName,
	UID:                poolUID,
	Controller:         ptr.To(true),
	BlockOwnerDeletion: ptr.To(true),
}}

type poolOption func(*v1alpha1.ProxyPool)

// proxyPool is a defaulted pool: Fixed sizing, minSize 2, maxSize 10.
func proxyPool(opts ...poolOption) *v1alpha1.ProxyPool {
	p := &v1alpha1.ProxyPool{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: poolName, UID: poolUID, Generation: 1},
		Spec: v1alpha1.ProxyPoolSpec{
			MinSize:     ptr.To[int32](2),
			MaxSize:     ptr.To[int32](10),
			Image:       image,
			IdleTimeout: &metav1.Duration{Duration: 5 * time.Minute},
			Sizing:      v1alpha1.ProxyPoolSizing{Policy: v1alpha1.SizingFixed, HeadroomPercent: ptr.To[int32](25)},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withPolicy(policy v1alpha1.SizingPolicy) poolOption {
	return func(p *v1alpha1.ProxyPool) { p.Spec.Sizing.Policy = policy }
}

func withSizes(minSize, maxSize int32) poolOption {
	return func(p *v1alpha1.ProxyPool) {
		p.Spec.MinSize, p.Spec.MaxSize = ptr.To(minSize), ptr.To(maxSize)
	}
}

// poolPod is a pod of the default pool's Deployment.
func poolPod(name string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: poolLabels, Annotations: annotations}}
}

func withIdleTimeout(d time.Duration) poolOption {
	return func(p *v1alpha1.ProxyPool) { p.Spec.IdleTimeout = &metav1.Duration{Duration: d} }
}

func withResources(r corev1.ResourceRequirements) poolOption {
	return func(p *v1alpha1.ProxyPool) { p.Spec.Resources = r }
}

func withStatus(s v1alpha1.ProxyPoolStatus) poolOption {
	return func(p *v1alpha1.ProxyPool) { p.Status = s }
}

// cond is one condition as the status reports it.
type cond struct {
	status          corev1.ConditionStatus
	reason, message string
}

var isTrue = cond{status: corev1.ConditionTrue}

// conditions lists DeploymentReady, ProxiesWarm and Ready, in that order.
func conditions(deploymentReady, proxiesWarm, ready cond) duckv1.Conditions {
	c := func(t apis.ConditionType, s cond) apis.Condition {
		return apis.Condition{Type: t, Status: s.status, Reason: s.reason, Message: s.message}
	}
	return duckv1.Conditions{
		c("DeploymentReady", deploymentReady),
		c("ProxiesWarm", proxiesWarm),
		c("Ready", ready),
	}
}

// poolStatus is a status observed at generation 1.
func poolStatus(replicas, ready, warm, leased int32, lastScaleReason string, conds duckv1.Conditions) v1alpha1.ProxyPoolStatus {
	return v1alpha1.ProxyPoolStatus{
		Status:          duckv1.Status{ObservedGeneration: 1, Conditions: conds},
		Replicas:        replicas,
		ReadyProxies:    ready,
		WarmProxies:     warm,
		LeasedProxies:   leased,
		LastScaleReason: lastScaleReason,
	}
}

// readyStatus is the status of a Fixed pool of two, both proxies warm.
func readyStatus() v1alpha1.ProxyPoolStatus {
	return poolStatus(2, 2, 2, 0, "sizing policy Fixed: minSize 2 (was 0)", conditions(isTrue, isTrue, isTrue))
}

func bootstrapConfigMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	data := map[string]string{}
	// The reviewed golden files of the resources package.
	for _, f := range []string{"bootstrap.yaml", "ssm-proxy-identity.yaml", "ssm-trust-bundle.yaml"} {
		b, err := os.ReadFile(filepath.Join("resources", "testdata", f))
		if err != nil {
			t.Fatalf("reading golden file: %v", err)
		}
		data[f] = string(b)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "ssm-proxy-default-bootstrap", Labels: poolLabels, OwnerReferences: ownerRefs,
		},
		Data: data,
	}
}

type deploymentOption func(*appsv1.Deployment)

func deployment(replicas int32, opts ...deploymentOption) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxyName, Labels: poolLabels, OwnerReferences: ownerRefs},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"ssm.dev/proxy-pool": "default"}},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: poolLabels,
					Annotations: map[string]string{
						"sidecar.istio.io/inject":            "false",
						"proxypool.ssm.dev/bootstrap-sha256": bootstrapHash,
					},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           "ssm-proxy",
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65532),
						RunAsGroup:     ptr.To[int64](65532),
						FSGroup:        ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "envoy",
						Image: image,
						Command: []string{
							"envoy", "-c", "/etc/envoy/bootstrap.yaml",
							"--service-node", "$(POD_NAME)", "--service-cluster", "fns/default",
							"--config-yaml", `{"node":{"metadata":{"ssm.dev/pod-ip":"$(POD_IP)"}}}`,
						},
						Env: []corev1.EnvVar{{
							Name: "POD_NAME",
							ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
								APIVersion: "v1", FieldPath: "metadata.name",
							}},
						}, {
							Name: "POD_IP",
							ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
								APIVersion: "v1", FieldPath: "status.podIP",
							}},
						}},
						Ports: []corev1.ContainerPort{
							{Name: "http", ContainerPort: 8081, Protocol: corev1.ProtocolTCP},
							{Name: "health", ContainerPort: 15021, Protocol: corev1.ProtocolTCP},
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/ready", Port: intstr.FromInt32(15021), Scheme: corev1.URISchemeHTTP,
							}},
							PeriodSeconds: 2, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3,
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "bootstrap", MountPath: "/etc/envoy", ReadOnly: true},
							{Name: "identity", MountPath: "/etc/ssm/identity", ReadOnly: true},
						},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{{
						Name: "bootstrap",
						VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: "ssm-proxy-default-bootstrap"},
							DefaultMode:          ptr.To[int32](0o444),
						}},
					}, {
						Name: "identity",
						VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName:  "ssm-proxy-default-identity",
							DefaultMode: ptr.To[int32](0o440),
						}},
					}},
				},
			},
		},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func withContainerResources(r corev1.ResourceRequirements) deploymentOption {
	return func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Resources = r }
}

// available sets the Deployment's status as the deployment controller
// reports it.
func available(status corev1.ConditionStatus, reason, message string, readyReplicas int32) deploymentOption {
	return func(d *appsv1.Deployment) {
		d.Status = appsv1.DeploymentStatus{
			ReadyReplicas: readyReplicas,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
			}, {
				Type: appsv1.DeploymentAvailable, Status: status, Reason: reason, Message: message,
			}},
		}
	}
}

// deploymentDefaults adds what the API server defaults and the
// controllers add: none of it is drift.
func deploymentDefaults(d *appsv1.Deployment) {
	d.ResourceVersion = "7"
	d.Generation = 1
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	d.Spec.RevisionHistoryLimit = ptr.To[int32](10)
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
	pod := &d.Spec.Template.Spec
	pod.RestartPolicy = corev1.RestartPolicyAlways
	pod.TerminationGracePeriodSeconds = ptr.To[int64](30)
	pod.DNSPolicy = corev1.DNSClusterFirst
	pod.SchedulerName = "default-scheduler"
	c := &pod.Containers[0]
	c.TerminationMessagePath = "/dev/termination-log"
	c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	c.ImagePullPolicy = corev1.PullIfNotPresent
}

func service(opts ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxyName, Labels: poolLabels, OwnerReferences: ownerRefs},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{"ssm.dev/proxy-pool": "default"},
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 8081, TargetPort: intstr.FromString("http"),
			}},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// serviceDefaults adds what the API server allocates and defaults.
func serviceDefaults(s *corev1.Service) {
	s.ResourceVersion = "8"
	s.Spec.ClusterIP = "10.96.0.42"
	s.Spec.ClusterIPs = []string{"10.96.0.42"}
	s.Spec.SessionAffinity = corev1.ServiceAffinityNone
	s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
	s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
}

func podDisruptionBudget() *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: proxyName, Labels: poolLabels, OwnerReferences: ownerRefs},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             ptr.To(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: map[string]string{"ssm.dev/proxy-pool": "default"}},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

var envoyResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
}
