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

# policy-deploy.sh: how long a policy change (ssm.dev/timeout annotation,
# ServerlessPolicy spec.timeout) takes to reach the VirtualService in the
# apiserver and the route istiod serves the gateway, p50/p99 over N changes,
# with a baseline in the same run (a VirtualService written directly). Runs
# on the local control plane; brings it up if it is not, and takes it down
# again only if it brought it up. Bounded: N changes per path, 30s per wait.
#
#   N=60   changes per path

set -o errexit
set -o nounset
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
STATE="$(./hack/cluster.sh dir)"
if ! ./hack/cluster.sh status 2>/dev/null | grep -q "kube-apiserver: running"; then
  ./hack/build-tools.sh >/dev/null
  trap './hack/cluster.sh down' EXIT
  ./hack/cluster.sh up
fi
mkdir -p "${STATE}/bin"
go build -o "${STATE}/bin/policydeploy" ./bench/policydeploy
./hack/cluster.sh exec "${STATE}/bin/policydeploy" -cluster-dir "${STATE}" -xds 10.200.0.1:15010 -n "${N:-60}"
