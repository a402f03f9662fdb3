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

package xdsprobe

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// Workload is a gateway's pods as istiod selects them for a Gateway: the
// labels of the Gateway's spec.selector and the namespace the pods run in.
type Workload struct {
	Namespace string
	Labels    map[string]string
}

// String is namespace{k=v,...} with sorted labels; it also keys the one
// stream kept per workload.
func (w Workload) String() string {
	keys := make([]string, 0, len(w.Labels))
	for k := range w.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + w.Labels[k]
	}
	return w.Namespace + "{" + strings.Join(pairs, ",") + "}"
}

func (w Workload) validate() error {
	if w.Namespace == "" {
		return fmt.Errorf("gateway workload %s: namespace is empty", w)
	}
	if len(w.Labels) == 0 {
		// istiod applies a Gateway without selector to every gateway, so
		// no single workload stands for it.
		return fmt.Errorf("gateway workload %s: no labels, want the Gateway's spec.selector", w)
	}
	return nil
}

// nodeIP is the address in the node id. It is from TEST-NET-1 (RFC 5737), so
// istiod never finds a pod with it and takes the workload's labels from the
// node metadata, exactly as for a gateway pod it has not seen yet.
const nodeIP = "192.0.2.1"

// nodeOptions are the parts of the node identity that depend on the cluster.
type nodeOptions struct {
	clusterID     string
	clusterDomain string
	istioVersion  string
}

// gatewayNode is the Envoy node istiod sees: a "router" (gateway) proxy with
// w's labels in w's namespace. istiod picks the Gateways whose selector is a
// subset of LABELS and generates their listeners and routes for it.
func gatewayNode(w Workload, opts nodeOptions) (*corev3.Node, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	if opts.clusterDomain == "" {
		return nil, errors.New("cluster domain is empty")
	}
	sum := sha256.Sum256([]byte(w.String()))
	// One name per workload, so istiod's debug endpoints and proxy-status
	// tell the streams apart.
	name := "ssm-readiness-" + hex.EncodeToString(sum[:4])
	labels := make(map[string]any, len(w.Labels))
	for k, v := range w.Labels {
		labels[k] = v
	}
	meta := map[string]any{
		"LABELS":       labels,
		"NAMESPACE":    w.Namespace,
		"NAME":         name,
		"CLUSTER_ID":   opts.clusterID,
		"INSTANCE_IPS": nodeIP,
	}
	// Without a version istiod assumes the newest proxy, one of its own build.
	if opts.istioVersion != "" {
		meta["ISTIO_VERSION"] = opts.istioVersion
	}
	md, err := structpb.NewStruct(meta)
	if err != nil {
		return nil, fmt.Errorf("gateway workload %s: node metadata: %w", w, err)
	}
	return &corev3.Node{
		Id:       fmt.Sprintf("router~%s~%s.%s~%s.svc.%s", nodeIP, name, w.Namespace, w.Namespace, opts.clusterDomain),
		Cluster:  name + "." + w.Namespace,
		Metadata: md,
	}, nil
}
