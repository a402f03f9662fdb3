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

# run.sh runs SSM's controller from source against the cluster KUBECONFIG
# points at (README "Run"). The cluster needs Knative Serving, the Istio CRDs
# and SSM's CRDs and ConfigMap from config/ applied; run.sh applies config/
# itself when kubectl is on PATH.
#
#   KUBECONFIG      required: the cluster to run against
#   KUBE_API_QPS    client rate limit (default 100, as config/500-controller.yaml)
#   KUBE_API_BURST  client burst (default 200)

set -o errexit
set -o nounset
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -z "${KUBECONFIG:-}" || ! -r "${KUBECONFIG%%:*}" ]]; then
  echo "run.sh: set KUBECONFIG to a readable kubeconfig of a cluster with Knative Serving and Istio's CRDs" >&2
  exit 2
fi

if command -v kubectl >/dev/null; then
  echo "=== applying SSM's CRDs, RBAC and config-ssm (config/1xx-4xx)"
  for f in config/1*.yaml config/2*.yaml config/3*.yaml config/4*.yaml; do
    kubectl apply -f "${f}"
  done
else
  echo "=== kubectl not found: assuming config/ is already applied"
fi

echo "=== starting ssm-controller (ingress class ssm.ingress.networking.knative.dev)"
export SYSTEM_NAMESPACE="${SYSTEM_NAMESPACE:-knative-serving}"
export KUBE_API_QPS="${KUBE_API_QPS:-100}"
export KUBE_API_BURST="${KUBE_API_BURST:-200}"
exec go run ./cmd/controller --kubeconfig="${KUBECONFIG%%:*}"
