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

# test.sh is SSM's test command (README "Test"): build, vet, gofmt, generated
# code up to date, unit and TableTest reconciler tests under -race, then each
# fuzz target for a bounded time. Needs only Go and the module proxy.
#
#   FUZZTIME=10s       time per fuzz target (0 skips fuzzing)
#   SKIP_CODEGEN=1     skip the generated-code drift check
#   SSM_KNATIVE=0      integration without Knative Serving's controllers (no L3)
#   SSM_DATAPLANE=0    integration without the local data plane (pods that
#                      really run: test/podrunner, kube-proxy); on by default
#                      with Knative
#   SKIP_INTEGRATION=1 skip test/integration on the local real control plane
#                      (hack/integration.sh: builds the control plane's tools
#                      once, ~30 min cold on 2 cores, then ~1 min a run)

set -o errexit
set -o nounset
set -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME="${FUZZTIME:-10s}"

echo "=== go build / go vet"
go build ./...
go vet ./...

echo "=== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [[ -n "${unformatted}" ]]; then
  echo "gofmt needed on:" >&2
  echo "${unformatted}" >&2
  exit 1
fi

if [[ -z "${SKIP_CODEGEN:-}" ]]; then
  echo "=== generated code is up to date"
  ./hack/verify-codegen.sh
fi

echo "=== go test -race ./..."
go test -race -count=1 ./...

# fuzz_one PKG TARGET fuzzes one target. A failing input is always a failure
# (Go saves it under testdata/fuzz/TARGET). Go's fuzzing engine can also end
# with "context deadline exceeded" when -fuzztime runs out while it is still
# minimizing a new interesting input, without any failing input: that is the
# engine, not a finding, and is reported as a warning.
count_files() {
  if [[ -d "$1" ]]; then find "$1" -type f | wc -l; else echo 0; fi
}

fuzz_one() {
  local pkg="$1" target="$2" out corpus="$1/testdata/fuzz/$2"
  local before
  before="$(count_files "${corpus}")"
  if out="$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="${FUZZTIME}" -fuzzminimizetime=1s "${pkg}" 2>&1)"; then
    echo "${out}" | tail -n 2
    return 0
  fi
  echo "${out}"
  if [[ "$(count_files "${corpus}")" == "${before}" ]] &&
    grep -q "context deadline exceeded" <<<"${out}" && ! grep -q "Failing input written" <<<"${out}"; then
    echo "WARNING: ${target}: the fuzzing engine ran out of time while minimizing; no failing input was found"
    return 0
  fi
  return 1
}

if [[ "${FUZZTIME}" != "0" ]]; then
  echo "=== fuzz targets, ${FUZZTIME} each"
  # Every Fuzz* function in the module, found rather than listed, so a new
  # target is fuzzed without editing this script.
  while read -r file; do
    pkg="./$(dirname "${file}")"
    for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "${file}" | sed 's/^func //'); do
      echo "--- ${pkg} ${target}"
      fuzz_one "${pkg}" "${target}"
    done
  done < <(git ls-files '*_test.go' 2>/dev/null | xargs grep -l '^func Fuzz' || true)
fi

if [[ -n "${SKIP_INTEGRATION:-}" ]]; then
  echo "=== integration tests skipped (SKIP_INTEGRATION is set)"
elif [[ "$(id -u)" != 0 ]]; then
  echo "=== integration tests skipped: the local control plane needs root (network namespaces)"
else
  echo "=== integration tests on the local real control plane (L1, L2, L3)"
  SSM_KNATIVE="${SSM_KNATIVE:-1}" SSM_DATAPLANE="${SSM_DATAPLANE:-${SSM_KNATIVE:-1}}" ./hack/integration.sh
fi

echo "=== all tests passed"
