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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/serverless-mesh/ssm/pkg/apis/ssm/v1alpha1"
	"github.com/serverless-mesh/ssm/pkg/reconciler/proxypool/resources/names"
)

const (
	// BootstrapDir is where the bootstrap ConfigMap is mounted.
	BootstrapDir = "/etc/envoy"
	// BootstrapFile is the bootstrap's key in the ConfigMap and its file name.
	BootstrapFile = "bootstrap.yaml"
)

// generatedHeader starts every rendered file, for whoever reads the ConfigMap.
const generatedHeader = "# Written by the SSM controller for a ProxyPool's Envoy proxies.\n" +
	"# Edits are overwritten: change the ProxyPool or the controller's configuration instead.\n"

// RenderYAML renders an Envoy config message as Envoy reads it. protojson's
// output is deliberately unstable; converting it to YAML sorts every key,
// which makes the rendering byte-identical for equal messages, so that the
// ConfigMap and the Deployment's hash annotation stay still.
func RenderYAML(m proto.Message) ([]byte, error) {
	j, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("rendering %s as JSON: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return nil, fmt.Errorf("rendering %s as YAML: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return append([]byte(generatedHeader), y...), nil
}

// MakeBootstrapConfigMap builds the ConfigMap mounted at BootstrapDir: the
// bootstrap (BootstrapFile) and the filesystem SDS files it refers to.
func MakeBootstrapConfigMap(pool *v1alpha1.ProxyPool, cfg Config) (*corev1.ConfigMap, error) {
	files, err := MakeSDSFiles()
	if err != nil {
		return nil, fmt.Errorf("building the SDS files of ProxyPool %s/%s: %w", pool.Namespace, pool.Name, err)
	}
	b, err := MakeBootstrap(pool, cfg)
	if err != nil {
		return nil, fmt.Errorf("building the Envoy bootstrap of ProxyPool %s/%s: %w", pool.Namespace, pool.Name, err)
	}
	data := make(map[string]string, len(files)+1)
	rendered, err := RenderYAML(b)
	if err != nil {
		return nil, fmt.Errorf("ProxyPool %s/%s: %w", pool.Namespace, pool.Name, err)
	}
	data[BootstrapFile] = string(rendered)
	for file, response := range files {
		rendered, err := RenderYAML(response)
		if err != nil {
			return nil, fmt.Errorf("ProxyPool %s/%s: %w", pool.Namespace, pool.Name, err)
		}
		data[file] = string(rendered)
	}
	return &corev1.ConfigMap{
		ObjectMeta: objectMeta(pool, names.BootstrapConfigMap(pool.Name)),
		Data:       data,
	}, nil
}

// ConfigMapHash is the hex SHA-256 of cm's data: each key in sorted order,
// a NUL, its value, a NUL.
func ConfigMapHash(cm *corev1.ConfigMap) string {
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(cm.Data[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
