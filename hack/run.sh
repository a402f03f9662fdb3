#!/usr/bin/env bash
# Copyright 2026 The SSM Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     https://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# run.sh is SSM's main job on this machine (README "Run"): build the control
# plane's tools if needed, bring the local real control plane up with SSM
# and Knative Serving installed, apply a sample Knative Service with ssm.dev/*
# annotations, and print
# what SSM produced: the KIngress status, the VirtualService and
# DestinationRule policy, and the route istiod generated for the gateway.
# The cluster stays up; `hack/cluster.sh down` removes it. Needs root.

set -o errexit
set -o nounset
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

./hack/build-tools.sh >/dev/null
export SSM_KNATIVE=1
./hack/cluster.sh up
k() { ./hack/cluster.sh kubectl "$@"; }

echo "=== applying hack/local/sample.yaml (the default ProxyPool was made by the controller, from config-ssm)"
k apply -f hack/local/sample.yaml

echo "=== waiting for the Route to be Ready (its KIngress confirmed through istiod)"
k wait --for condition=Ready --timeout 90s routes.serving.knative.dev/hello -n demo
k get ksvc,route,revision -n demo

echo "=== KIngress demo/hello: status"
k get ingresses.networking.internal.knative.dev hello -n demo -o jsonpath='{.status}' | jq .
echo "=== VirtualService demo/hello-ingress: traffic route (timeout, retries)"
k get virtualservices.networking.istio.io hello-ingress -n demo -o json | jq '.spec.http[-1] | {timeout, retries, route}'
echo "=== DestinationRule for revision hello-00001: traffic policy"
k get destinationrules.networking.istio.io -n demo -o json | jq '.items[] | {name: .metadata.name, lifecycle: .metadata.annotations["ssm.dev/lifecycle-class"], host: .spec.host, trafficPolicy: .spec.trafficPolicy}'
echo "=== istiod's route for hello.demo.example.com, as the ingress gateway receives it"
STATE="$(./hack/cluster.sh dir)"
go build -o "${STATE}/bin/gatewayroutes" ./hack/gatewayroutes
./hack/cluster.sh exec "${STATE}/bin/gatewayroutes" -xds 10.200.0.1:15010 hello.demo.example.com

echo "=== ProxyPool knative-serving/default: its Envoy Deployment and counts"
k wait --for condition=DeploymentReady --timeout 60s proxypools.ssm.dev/default -n knative-serving
k get deployment ssm-proxy-default -n knative-serving
k get proxypools.ssm.dev default -n knative-serving -o jsonpath='{.status}' | jq '{replicas, readyProxies, warmProxies, leasedProxies, lastScaleReason, conditions: [.conditions[] | {type, status, reason}]}'
echo "(The pool's pods are KWOK's here: no Envoy runs, so none connects to ssm-pool and"
echo " warmProxies stays 0. test/integration/pool_test.go plays pooled Envoys over real ADS.)"

echo
echo "The cluster is still up: hack/cluster.sh kubectl ...; take it down with hack/cluster.sh down."
