#!/usr/bin/env bash

# Copyright 2026 The SSM Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# update-codegen.sh regenerates everything under pkg/client and the deepcopy
# functions of pkg/apis. It needs only the Go toolchain and a module proxy.
#
# knative.dev/hack's codegen-library.sh is not used: it runs
# `go run knative.dev/toolbox/modscope@latest`, which the module proxy does not
# serve. This script calls the same generators directly instead:
#   - k8s.io/code-generator's kube_codegen.sh for deepcopy, clientset, listers
#     and informers;
#   - knative.dev/pkg's generate-knative.sh for injection (informers, clients
#     and, from the +genreconciler markers, the generated reconcilers), for
#     our own types and for the Istio networking types the ingress reconciler
#     watches.
# Both come from the module cache at the versions go.mod pins (tools/tools.go
# keeps them required).

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${REPO_ROOT}"

MODULE="$(go list -m)"
CLIENT_PKG="${MODULE}/pkg/client"
APIS_PKG="${MODULE}/pkg/apis"

echo "=== Update codegen for ${MODULE}"

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "${WORK_DIR}"' EXIT

# The generators are installed into a private GOBIN so that neither the
# caller's GOPATH/bin nor a stale binary found there is involved.
export GOBIN="${WORK_DIR}/bin"
mkdir -p "${GOBIN}"

# Generated files carry the project's license header. The year is fixed
# rather than today's (knative.dev/hack uses today's and then reverts
# year-only changes), so that verify-codegen.sh does not report drift on
# every January 1st.
COPYRIGHT_YEAR="${COPYRIGHT_YEAR:-2026}"
BOILERPLATE="${WORK_DIR}/boilerplate.go.txt"
sed "s/YEAR/${COPYRIGHT_YEAR}/" "${REPO_ROOT}/hack/boilerplate/boilerplate.go.txt" > "${BOILERPLATE}"

echo "--- Downloading the generator modules"
go mod download k8s.io/code-generator knative.dev/pkg
CODEGEN_PKG="$(go list -m -f '{{.Dir}}' k8s.io/code-generator)"
KNATIVE_CODEGEN_PKG="$(go list -m -f '{{.Dir}}' knative.dev/pkg)"

# shellcheck source=/dev/null
source "${CODEGEN_PKG}/kube_codegen.sh"

# Everything under pkg/client is generated: start from nothing so that a
# removed type or group leaves no orphaned files behind.
echo "--- Removing pkg/client"
rm -rf "${REPO_ROOT}/pkg/client"
# kube_codegen.sh greps these for stale files before generating into them.
mkdir -p "${REPO_ROOT}/pkg/client/clientset" "${REPO_ROOT}/pkg/client/listers" "${REPO_ROOT}/pkg/client/informers"

echo "--- Kubernetes codegen: deepcopy for pkg/apis"
kube::codegen::gen_helpers \
  --boilerplate "${BOILERPLATE}" \
  "${REPO_ROOT}/pkg/apis"

echo "--- Kubernetes codegen: clientset, listers and informers into pkg/client"
kube::codegen::gen_client \
  --with-watch \
  --output-dir "${REPO_ROOT}/pkg/client" \
  --output-pkg "${CLIENT_PKG}" \
  --boilerplate "${BOILERPLATE}" \
  "${REPO_ROOT}/pkg/apis"

# generate-knative.sh derives its output directory from OUTPUT_PKG relative to
# the current directory, so it must run from the repository root. The module
# cache is read-only and drops the executable bit, hence `bash`.
echo "--- Knative codegen: injection and reconcilers for ssm:v1alpha1"
bash "${KNATIVE_CODEGEN_PKG}/hack/generate-knative.sh" "injection" \
  "${CLIENT_PKG}" "${APIS_PKG}" \
  "ssm:v1alpha1" \
  --go-header-file "${BOILERPLATE}"

echo "--- Knative codegen: injection for istio.io networking:v1beta1 security:v1beta1"
OUTPUT_PKG="${CLIENT_PKG}/istio/injection" \
VERSIONED_CLIENTSET_PKG="istio.io/client-go/pkg/clientset/versioned" \
EXTERNAL_INFORMER_PKG="istio.io/client-go/pkg/informers/externalversions" \
LISTERS_PKG="istio.io/client-go/pkg/listers" \
  bash "${KNATIVE_CODEGEN_PKG}/hack/generate-knative.sh" "injection" \
    istio.io/client-go/pkg istio.io/client-go/pkg/apis \
    "networking:v1beta1 security:v1beta1" \
    --go-header-file "${BOILERPLATE}"

# The lease API's Go code comes from pkg/pool/leaseapi/lease.proto. protoc is
# Debian's (installed here when missing); its plugins are built from the
# module proxy: protoc-gen-go at the protobuf version go.mod pins, and
# protoc-gen-go-grpc at a fixed version, so the output never depends on what
# the caller happens to have installed.
PROTOC_GEN_GO_GRPC_VERSION="v1.5.1"
echo "--- protoc: the lease API"
if ! command -v protoc >/dev/null 2>&1; then
  if [[ "${EUID}" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing protobuf-compiler (apt-get)"
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y protobuf-compiler >/dev/null
  else
    echo "ERROR: protoc is missing: apt-get install -y protobuf-compiler" >&2
    exit 1
  fi
fi
go install google.golang.org/protobuf/cmd/protoc-gen-go
(cd "${WORK_DIR}" && GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}")
rm -f "${REPO_ROOT}"/pkg/pool/leaseapi/*.pb.go
PATH="${GOBIN}:${PATH}" protoc \
  --proto_path="${REPO_ROOT}/pkg/pool/leaseapi" \
  --go_out="${REPO_ROOT}/pkg/pool/leaseapi" --go_opt=paths=source_relative \
  --go-grpc_out="${REPO_ROOT}/pkg/pool/leaseapi" --go-grpc_opt=paths=source_relative \
  lease.proto

echo "--- hash-gen: config-ssm's _example checksum"
# The checksum annotation lets knative.dev/pkg tell an edited _example from
# an untouched one; it is regenerated, never typed.
go run knative.dev/pkg/configmap/hash-gen "${REPO_ROOT}/config/400-config-ssm.yaml"

echo "=== Codegen done"
