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

package resources

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm"
	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

const (
	// BootstrapHashAnnotationKey on the pod template holds ConfigMapHash of
	// the bootstrap ConfigMap: Envoy reads its bootstrap only at start, so a
	// changed bootstrap must roll the pods. (Not under ssm.dev/, a prefix
	// whose unknown keys the webhook rejects.)
	BootstrapHashAnnotationKey = "proxypool.ssm.dev/bootstrap-sha256"
	// IstioInjectAnnotationKey keeps Istio from injecting a sidecar: a pooled
	// Envoy is the proxy, and a second one in front of it would defeat the
	// pool.
	IstioInjectAnnotationKey = "sidecar.istio.io/inject"

	// PodNameEnv carries the pod name from the downward API to Envoy's
	// --service-node, the node id ssm-pool tracks each proxy by.
	PodNameEnv = "POD_NAME"
	// PodIPEnv holds the pod's IP, stated in the node metadata (see
	// ssm.PoolProxyPodIPMetadataKey) through --config-yaml, which Envoy
	// merges into the bootstrap.
	PodIPEnv = "POD_IP"

	// HealthPortName names the port of the health listener ssm-pool pushes.
	HealthPortName = "health"
	// ProxyPortName names the port of revision traffic.
	ProxyPortName = "http"

	// readyPath is served on ssm.PoolProxyHealthPort by the base listener
	// ssm-pool pushes, so a pod turns Ready only once it has ACKed its base
	// configuration.
	readyPath = "/ready"

	// proxyUser is any non-root uid: Envoy only reads its mounted files and
	// binds ports above 1024.
	proxyUser int64 = 65532

	bootstrapVolume = "bootstrap"
	identityVolume  = "identity"
)

// MakeDeployment builds the Deployment of pool's Envoys at replicas pods,
// whose template carries bootstrapHash (ConfigMapHash of the bootstrap).
func MakeDeployment(pool *v1alpha1.ProxyPool, replicas int32, bootstrapHash string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta(pool, names.Deployment(pool.Name)),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(pool)},
			// A rollout adds a pod before it removes one, so the pool does
			// not lose warm capacity while a new bootstrap or image rolls
			// out, and a broken new template leaves the old pods serving.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: Labels(pool),
					Annotations: map[string]string{
						IstioInjectAnnotationKey:   "false",
						BootstrapHashAnnotationKey: bootstrapHash,
					},
				},
				Spec: podSpec(pool),
			},
		},
	}
}

func podSpec(pool *v1alpha1.ProxyPool) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName: ssm.PoolProxyServiceAccount,
		// Envoy never calls the API server; its identity is the mounted
		// certificate, not a ServiceAccount token.
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true),
			RunAsUser:    ptr.To(proxyUser),
			RunAsGroup:   ptr.To(proxyUser),
			// The identity Secret's files are group-readable only (0440);
			// fsGroup makes that group the proxy's.
			FSGroup:        ptr.To(proxyUser),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{envoyContainer(pool)},
		Volumes: []corev1.Volume{{
			Name: bootstrapVolume,
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: names.BootstrapConfigMap(pool.Name)},
				DefaultMode:          ptr.To[int32](0o444),
			}},
		}, {
			Name: identityVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName:  names.IdentitySecret(pool.Name),
				DefaultMode: ptr.To[int32](0o440),
			}},
		}},
	}
}

func envoyContainer(pool *v1alpha1.ProxyPool) corev1.Container {
	return corev1.Container{
		Name:  names.EnvoyContainer,
		Image: pool.Spec.Image,
		// The kubelet expands $(POD_NAME) and $(POD_IP) from the
		// container's environment.
		Command: []string{
			"envoy",
			"-c", BootstrapDir + "/" + BootstrapFile,
			"--service-node", "$(" + PodNameEnv + ")",
			"--service-cluster", NodeCluster(pool),
			"--config-yaml", `{"node":{"metadata":{"` + ssm.PoolProxyPodIPMetadataKey + `":"$(` + PodIPEnv + `)"}}}`,
		},
		Env: []corev1.EnvVar{{
			Name: PodNameEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				APIVersion: "v1",
				FieldPath:  "metadata.name",
			}},
		}, {
			Name: PodIPEnv,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				APIVersion: "v1",
				FieldPath:  "status.podIP",
			}},
		}},
		Ports: []corev1.ContainerPort{{
			Name:          ProxyPortName,
			ContainerPort: ssm.PoolProxyPort,
			Protocol:      corev1.ProtocolTCP,
		}, {
			Name:          HealthPortName,
			ContainerPort: ssm.PoolProxyHealthPort,
			Protocol:      corev1.ProtocolTCP,
		}},
		Resources: *pool.Spec.Resources.DeepCopy(),
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path:   readyPath,
				Port:   intstr.FromInt32(ssm.PoolProxyHealthPort),
				Scheme: corev1.URISchemeHTTP,
			}},
			// A proxy turns Ready soon after its first ACK; warm counts
			// come from ssm-pool regardless, this only feeds readyProxies.
			PeriodSeconds:    2,
			TimeoutSeconds:   1,
			SuccessThreshold: 1,
			FailureThreshold: 3,
		},
		VolumeMounts: []corev1.VolumeMount{{
			Name:      bootstrapVolume,
			MountPath: BootstrapDir,
			ReadOnly:  true,
		}, {
			Name:      identityVolume,
			MountPath: IdentityDir,
			ReadOnly:  true,
		}},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}
