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

# cold-path.sh: request → response at scale from zero through SSM's
# activator, for a plain Knative Service and for a short-lived SSM revision
# that leases a pooled proxy (the stand-ins), in interleaved cycles; and,
# from the activator's cold-start phase metrics, the time from the first pod
# being ready to the first byte. Runs on the local cluster's running data
# plane; brings it up (SSM_KNATIVE=1 SSM_DATAPLANE=1) if it is not, and takes
# it down again only if it brought it up. Not part of hack/test.sh. Bounded:
# CYCLES + 1 warm-up cycles, each waiting at most 3 min for scale to zero.
#
#   CYCLES=8   measured cycles (one cold request per variant each)

set -o errexit
set -o nounset
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
STATE="$(./hack/cluster.sh dir)"
# (status is read whole first: grep -q closing the pipe early would fail it
# under pipefail.)
status="$(./hack/cluster.sh status 2>/dev/null || true)"
if ! grep -q "standin-0: running" <<<"${status}"; then
  if grep -q "kube-apiserver: running" <<<"${status}"; then
    echo "cold-path.sh: a cluster without the running data plane is up; take it down first (hack/cluster.sh down)" >&2
    exit 1
  fi
  ./hack/build-tools.sh >/dev/null
  trap './hack/cluster.sh down' EXIT
  SSM_KNATIVE=1 SSM_DATAPLANE=1 ./hack/cluster.sh up
fi
mkdir -p "${STATE}/bin"
go build -o "${STATE}/bin/coldpath" ./bench/coldpath
./hack/cluster.sh exec "${STATE}/bin/coldpath" -cluster-dir "${STATE}" -cycles "${CYCLES:-8}" "$@"
