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

# queue-proxy.sh: SSM's queue-proxy (cmd/queue, plugin on) against Knative's
# stock queue-proxy (knative.dev/serving/cmd/queue from the release pinned in
# hack/tools/knative), both as real processes in front of test/function:
# p50/p99/throughput of each, interleaved rounds, ratios in one run. Needs
# root (a private network and mount namespace). Bounded: -timeout, default
# 5 m. Arguments go to the program (see bench/queueproxy), e.g.
#
#   bench/queue-proxy.sh -clients 1,16 -rounds 7 -requests 5000
#
#   SSM_BENCH_DIR  where the binaries go (default
#                  ${XDG_CACHE_HOME:-$HOME/.cache}/ssm-bench), outside the repo

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${SSM_BENCH_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/ssm-bench}/bin"
mkdir -p "${BIN}"

# Built as hack/build-tools.sh builds Knative's binaries: static, trimmed,
# without symbols, each from its own module's go.mod and go.sum. Go's build
# cache makes a re-run cheap, so nothing stale is ever reused.
gobuild() {
  local dir="$1" out="$2" pkg="$3"
  GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    go -C "${dir}" build -trimpath -ldflags "-s -w" -o "${BIN}/${out}" "${pkg}"
}
echo "queue-proxy.sh: building into ${BIN}" >&2
gobuild "${REPO_ROOT}/hack/tools/knative" knative-queue knative.dev/serving/cmd/queue
gobuild "${REPO_ROOT}" ssm-queue ./cmd/queue
gobuild "${REPO_ROOT}" function ./test/function
gobuild "${REPO_ROOT}" queueproxy ./bench/queueproxy

# Everything runs in a network namespace of its own, with only loopback up,
# and a mount namespace of its own for the podinfo bind mount; both end with
# the program.
OUTSIDE="$(readlink /proc/self/ns/net) $(readlink /proc/self/ns/mnt)"
exec unshare --net --mount --propagation private --fork --kill-child -- \
  sh -c 'ip link set lo up && exec "$@"' sh \
  "${BIN}/queueproxy" -stock "${BIN}/knative-queue" -ours "${BIN}/ssm-queue" \
  -function "${BIN}/function" -outside "${OUTSIDE}" "$@"
