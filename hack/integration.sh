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

# integration.sh runs test/integration (build tag "integration") against the
# local real control plane: it builds the tools if needed, brings the
# cluster up, runs the tests inside the cluster's network namespace, and
# always takes the cluster down again. Needs root (network namespaces).
# SSM_KNATIVE=1 also runs Knative Serving itself and its L3 tests.

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${REPO_ROOT}"

./hack/build-tools.sh
STATE="$(./hack/cluster.sh dir)"

trap './hack/cluster.sh down' EXIT
./hack/cluster.sh up

echo "=== go test -tags integration ./test/integration/"
mkdir -p "${STATE}/bin"
go test -c -race -tags integration -o "${STATE}/bin/integration.test" ./test/integration/
# The apiserver listens only inside the cluster's network namespace. Tests
# that crash and restart a component (cluster.sh kill/start) call the script
# named by SSM_CLUSTER_SH.
set +o errexit
./hack/cluster.sh exec env SSM_CLUSTER_DIR="${STATE}" SSM_KNATIVE="${SSM_KNATIVE:-0}" SSM_DATAPLANE="${SSM_DATAPLANE:-0}" SSM_XDS_ADDRESS=10.200.0.1:15010 \
  SSM_CLUSTER_SH="${REPO_ROOT}/hack/cluster.sh" \
  "${STATE}/bin/integration.test" -test.v -test.count=1 -test.timeout=20m 2>&1 \
  | tee "${STATE}/logs/integration.out"
rc=${PIPESTATUS[0]}
set -o errexit
# go test's summary line for CI, since the binary runs without `go test`.
if [[ ${rc} == 0 ]]; then
  echo "ok  	github.com/serverless-mesh/ssm/test/integration"
else
  echo "FAIL	github.com/serverless-mesh/ssm/test/integration"
  echo "--- component logs: ${STATE}/logs"
  for f in "${STATE}"/logs/*.log; do
    echo "----- tail of $(basename "${f}")"
    tail -n 15 "${f}"
  done
fi
exit "${rc}"
