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

# build-tools.sh builds, once, every binary the local control plane needs
# (Kubernetes, etcd, istiod, KWOK, Knative Serving) from the pinned Go modules
# under hack/tools/, and copies out the YAML the cluster applies (CRDs,
# Knative ConfigMaps, KWOK stages). Everything lands in a cache directory
# outside the repository whose name is a hash of hack/tools/*/go.{mod,sum},
# hack/tools/*/tools.go, this script and the Go version, so a changed pin never
# reuses a stale binary. A re-run skips whatever is already built.
#
#   hack/build-tools.sh              build what is missing; progress on
#                                    stderr, the cache directory alone on stdout
#   hack/build-tools.sh --print-dir  print the cache directory and nothing else,
#                                    build nothing; exit 0 if every tool is
#                                    built there, 1 if not
#
#   SSM_TOOLS_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/ssm-tools)
#   SSM_TOOLS_JOBS  builds run at once (default 2; each go build already uses
#                   every core, two at a time overlaps one's link with the
#                   other's compile)
#
# Cache layout (<dir> is what --print-dir prints):
#   <dir>/bin/              kube-apiserver kube-controller-manager
#                           kube-scheduler kube-proxy kubectl etcd
#                           pilot-discovery kwok knative-controller
#                           knative-webhook knative-autoscaler
#                           knative-activator knative-queue
#   <dir>/istio/crd-all.gen.yaml
#   <dir>/kwok/stages.yaml            for kwok --config
#   <dir>/knative/crds/*.yaml         serving-*, networking-*, caching-image
#   <dir>/knative/configmaps/*.yaml   serving-*, networking-config-network
#   <dir>/stamps/<name>               one per tool: built and complete
#   <dir>/logs/<name>.log             go build output

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT="${REPO_ROOT}/hack/build-tools.sh"
TOOLS_SRC="${REPO_ROOT}/hack/tools"
JOBS="${SSM_TOOLS_JOBS:-2}"

K8S_VERSION="v1.35.4"
# kubectl and Knative parse the server version; an unstamped build reports
# v0.0.0-master and fails their minimum-version checks.
K8S_LDFLAGS="-X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35 -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"

# name, module directory under hack/tools, package. Longest builds first so
# that two workers finish close together.
BUILDS=(
  "kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver"
  "pilot-discovery istio istio.io/istio/pilot/cmd/pilot-discovery"
  "kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager"
  "knative-controller knative knative.dev/serving/cmd/controller"
  "kubectl kubernetes k8s.io/kubernetes/cmd/kubectl"
  "kube-proxy kubernetes k8s.io/kubernetes/cmd/kube-proxy"
  "kwok kwok sigs.k8s.io/kwok/cmd/kwok"
  "knative-webhook knative knative.dev/serving/cmd/webhook"
  "knative-autoscaler knative knative.dev/serving/cmd/autoscaler"
  "kube-scheduler kubernetes k8s.io/kubernetes/cmd/kube-scheduler"
  "knative-activator knative knative.dev/serving/cmd/activator"
  "etcd etcd go.etcd.io/etcd/server/v3"
  "knative-queue knative knative.dev/serving/cmd/queue"
)
YAML_TASKS=(istio-crds kwok-stages knative-yaml)

log() { echo "build-tools: $*" >&2; }

# go runs the go command for one tools module: its own go.mod and go.sum,
# never a go.work, never edited; static binaries with no machine paths.
gotool() {
  local mod="$1"
  shift
  GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    go -C "${TOOLS_SRC}/${mod}" "$@"
}

cache_dir() {
  local key f
  key="$(
    {
      cat "${SCRIPT}"
      for f in "${TOOLS_SRC}"/*/go.mod "${TOOLS_SRC}"/*/go.sum "${TOOLS_SRC}"/*/tools.go; do
        echo "== ${f#"${REPO_ROOT}/"}"
        cat "${f}"
      done
      go env GOVERSION GOOS GOARCH
    } | sha256sum | cut -c1-16
  )"
  echo "${SSM_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/ssm-tools}/${key}"
}

all_stamped() {
  local entry name
  for entry in "${BUILDS[@]}"; do
    read -r name _ <<<"${entry}"
    [[ -f "${DIR}/stamps/${name}" && -x "${DIR}/bin/${name}" ]] || return 1
  done
  for name in "${YAML_TASKS[@]}"; do
    [[ -f "${DIR}/stamps/${name}" ]] || return 1
  done
}

# ensure_packages installs the Debian packages the local cluster needs (ip for
# namespaces and veths, nft and iptables for kube-proxy), only when a command
# is missing and only as root; otherwise it says what to install.
ensure_packages() {
  local missing=() cmd pkg
  for cmd in ip:iproute2 nft:nftables iptables:iptables; do
    pkg="${cmd#*:}"
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${pkg}")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ "${EUID}" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]} (apt-get)"
    local out
    out="$(apt-get update 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" 2>&1)" ||
      { echo "${out}" >&2; return 1; }
  else
    log "WARNING: the local cluster needs: apt-get install -y ${missing[*]} (run as root)"
  fi
}

module_dir() {
  local mod="$1" path="$2"
  gotool "${mod}" mod download "${path}"
  gotool "${mod}" list -m -f '{{.Dir}}' "${path}"
}

stamp() {
  local name="$1" secs="$2" what="$3"
  echo "${name} ${what} built in ${secs}s on $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"${DIR}/stamps/${name}"
}

yaml_istio_crds() {
  local src
  src="$(module_dir istio istio.io/istio)"
  install -m 0644 "${src}/manifests/charts/base/files/crd-all.gen.yaml" "${DIR}/istio/crd-all.gen.yaml"
}

# yaml_kwok_stages concatenates the Stage resources each kustomization lists;
# KWOK v0.8.0 ships no default stages, so kwok needs them as --config.
yaml_kwok_stages() {
  local src stage res out="${DIR}/kwok/stages.yaml"
  src="$(module_dir kwok sigs.k8s.io/kwok)"
  {
    echo "# KWOK stages from sigs.k8s.io/kwok kustomize/stage/{node/fast,node/heartbeat-with-lease,pod/fast}"
    for stage in node/fast node/heartbeat-with-lease pod/fast; do
      for res in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "${src}/kustomize/stage/${stage}/kustomization.yaml"); do
        echo "---"
        cat "${src}/kustomize/stage/${stage}/${res}"
      done
    done
  } >"${out}.tmp"
  grep -q '^kind: Stage' "${out}.tmp" || { log "no Stage found in ${out}.tmp"; return 1; }
  mv -f "${out}.tmp" "${out}"
}

# yaml_knative copies what a Knative Serving install applies before its
# webhook and controller start: the CRDs of serving, networking and caching,
# and the ConfigMaps of serving plus networking's config-network.
yaml_knative() {
  local serving networking caching f
  serving="$(module_dir knative knative.dev/serving)"
  networking="$(module_dir knative knative.dev/networking)"
  caching="$(module_dir knative knative.dev/caching)"
  rm -rf "${DIR}/knative"
  mkdir -p "${DIR}/knative/crds" "${DIR}/knative/configmaps"
  for f in "${serving}"/config/core/300-resources/*.yaml; do
    install -m 0644 "${f}" "${DIR}/knative/crds/serving-$(basename "${f}")"
  done
  for f in "${networking}"/config/*.yaml; do
    if grep -q '^kind: CustomResourceDefinition' "${f}"; then
      install -m 0644 "${f}" "${DIR}/knative/crds/networking-$(basename "${f}")"
    else
      install -m 0644 "${f}" "${DIR}/knative/configmaps/networking-$(basename "${f}")"
    fi
  done
  install -m 0644 "${caching}/config/image.yaml" "${DIR}/knative/crds/caching-image.yaml"
  for f in "${serving}"/config/core/configmaps/*.yaml; do
    install -m 0644 "${f}" "${DIR}/knative/configmaps/serving-$(basename "${f}")"
  done
}

run_yaml_tasks() {
  local name start
  for name in "${YAML_TASKS[@]}"; do
    if [[ -f "${DIR}/stamps/${name}" ]]; then
      log "cached   ${name}"
      continue
    fi
    start="$(date +%s)"
    case "${name}" in
      istio-crds) yaml_istio_crds ;;
      kwok-stages) yaml_kwok_stages ;;
      knative-yaml) yaml_knative ;;
    esac
    stamp "${name}" "$(($(date +%s) - start))" "yaml"
    log "done     ${name} ($(($(date +%s) - start))s)"
  done
}

download_modules() {
  local mod start
  for mod in kubernetes istio knative kwok etcd; do
    start="$(date +%s)"
    gotool "${mod}" mod download
    log "modules  ${mod} ready ($(($(date +%s) - start))s)"
  done
}

# Running builds: name -> pid and name -> start time. Each go build runs as a
# direct child so that an interrupt can stop exactly the builds this script
# started.
declare -A RUN_PID=() RUN_START=()
SUMMARY=()

stop_builds() {
  local name
  for name in "${!RUN_PID[@]}"; do
    kill "${RUN_PID[${name}]}" 2>/dev/null || true
  done
}

start_build() {
  # -s -w: no DWARF or symbol table (stack traces still work); a third
  # smaller and links faster.
  local name="$1" mod="$2" pkg="$3" ldflags="-s -w"
  [[ "${mod}" == kubernetes ]] && ldflags+=" ${K8S_LDFLAGS}"
  log "building ${name} (${pkg})"
  gotool "${mod}" build -trimpath -ldflags "${ldflags}" \
    -o "${DIR}/bin/.${name}.tmp" "${pkg}" >"${DIR}/logs/${name}.log" 2>&1 &
  RUN_PID["${name}"]=$!
  RUN_START["${name}"]="$(date +%s)"
}

# finish_build reaps one finished build, moves its binary into place and
# stamps it; a failed build stops the script with the tail of its log.
finish_build() {
  local name="$1" pid="${RUN_PID[$1]}" rc=0 secs
  wait "${pid}" || rc=$?
  secs="$(($(date +%s) - ${RUN_START[${name}]}))"
  unset "RUN_PID[${name}]"
  if ((rc != 0)); then
    log "FAILED   ${name} after ${secs}s (exit ${rc}); ${DIR}/logs/${name}.log:"
    tail -n 30 "${DIR}/logs/${name}.log" >&2
    return 1
  fi
  mv -f "${DIR}/bin/.${name}.tmp" "${DIR}/bin/${name}"
  stamp "${name}" "${secs}" "go-build"
  SUMMARY+=("${name} ${secs}s")
  log "built    ${name} in ${secs}s"
}

run_builds() {
  local pending=() entry name mod pkg now last_beat
  for entry in "${BUILDS[@]}"; do
    read -r name mod pkg <<<"${entry}"
    if [[ -f "${DIR}/stamps/${name}" && -x "${DIR}/bin/${name}" ]]; then
      log "cached   ${name}"
      SUMMARY+=("${name} cached")
    else
      pending+=("${entry}")
    fi
  done
  last_beat="$(date +%s)"
  while ((${#pending[@]} > 0 || ${#RUN_PID[@]} > 0)); do
    while ((${#RUN_PID[@]} < JOBS && ${#pending[@]} > 0)); do
      read -r name mod pkg <<<"${pending[0]}"
      pending=("${pending[@]:1}")
      start_build "${name}" "${mod}" "${pkg}"
    done
    sleep 2
    for name in "${!RUN_PID[@]}"; do
      if ! kill -0 "${RUN_PID[${name}]}" 2>/dev/null; then
        finish_build "${name}"
      fi
    done
    now="$(date +%s)"
    if ((now - last_beat >= 30 && ${#RUN_PID[@]} > 0)); then
      last_beat="${now}"
      local running=()
      for name in "${!RUN_PID[@]}"; do
        running+=("${name} $((now - ${RUN_START[${name}]}))s")
      done
      log "still building: ${running[*]} (${#pending[@]} queued)"
    fi
  done
}

main() {
  local print_only=false
  case "${1:-}" in
    "") ;;
    --print-dir) print_only=true ;;
    -h | --help)
      sed -n '/^# build-tools.sh builds/,/^#   <dir>\/logs/p' "${SCRIPT}" | sed 's/^# \{0,1\}//' >&2
      return 0
      ;;
    *)
      log "unknown argument ${1}; usage: build-tools.sh [--print-dir]"
      return 2
      ;;
  esac

  DIR="$(cache_dir)"
  if "${print_only}"; then
    echo "${DIR}"
    all_stamped
    return
  fi

  local start
  start="$(date +%s)"
  trap stop_builds EXIT
  ensure_packages
  mkdir -p "${DIR}/bin" "${DIR}/istio" "${DIR}/kwok" "${DIR}/stamps" "${DIR}/logs"
  log "cache ${DIR} (${JOBS} builds at a time)"
  if ! all_stamped; then
    download_modules
  fi
  run_yaml_tasks
  run_builds
  trap - EXIT
  "${DIR}/bin/kube-apiserver" --version | grep -q "Kubernetes ${K8S_VERSION}\$" ||
    { log "kube-apiserver does not report ${K8S_VERSION}"; return 1; }
  log "summary: ${SUMMARY[*]}"
  local others
  others="$(find "$(dirname "${DIR}")" -mindepth 1 -maxdepth 1 -type d ! -path "${DIR}" | wc -l)"
  if ((others > 0)); then
    log "${others} older cache(s) beside it in $(dirname "${DIR}") (safe to delete when no cluster uses them)"
  fi
  log "all tools ready in $(($(date +%s) - start))s: ${DIR}"
  echo "${DIR}"
}

main "$@"
