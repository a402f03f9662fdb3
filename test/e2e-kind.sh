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

# e2e-kind.sh runs Knative's ingress conformance suite against SSM on a
# throwaway kind cluster (levels L4/L5 of the proof ladder, test/README.md):
# kind cluster -> Istio -> Knative Serving -> SSM (ko apply -f config/) ->
# config-network's ingress-class set to SSM's -> the suite's test images
# built with ko -> go test -tags e2e in test/conformance. Needs a container
# engine (Docker), so it cannot run on build machines without one.
#
# Knobs (environment):
#   KIND_CLUSTER_NAME  kind cluster to create                (ssm-e2e)
#   KIND_NODE_IMAGE    kindest/node image                    (kind's default)
#   KEEP_CLUSTER=1     keep the cluster (and its kubeconfig) after the run
#   REUSE_CLUSTER=1    use an existing cluster of that name (one an earlier
#                      KEEP_CLUSTER=1 run made) and re-apply every step, all
#                      idempotent; a reused cluster is never deleted
#   ISTIO_VERSION      Istio release installed with istioctl (1.31.4)
#   ISTIOCTL           an istioctl binary of ISTIO_VERSION to use instead of
#                      downloading one
#   KNATIVE_VERSION    Knative Serving release                (knative-v1.23.0)
#   KO_PLATFORM        platform of built images (the Docker engine's)
#   GATEWAY_HTTP_PORT  NodePort of the gateway's port 80, mapped to the same
#                      port on 127.0.0.1                       (31080)
#   GATEWAY_HTTPS_PORT same for port 443                       (31443)
#   INGRESS_ENDPOINT   address the suite dials those ports on  (127.0.0.1)
#   SERVICE_DOMAIN     domain of the suite's hosts and config-domain (example.com)
#   ENABLE_BETA=0      skip the suite's beta tests (run by default)
#   ENABLE_ALPHA=0     skip the suite's alpha tests (run by default)
#   SKIP_TESTS         comma-separated suite test names to skip, e.g. "update"
#   TEST_RUN           go test -run pattern              (TestIngressConformance)
#   TEST_TIMEOUT       go test -timeout                  (60m)
#   TEST_ARGS          extra flags for the test binary, space-separated

set -o errexit
set -o nounset
set -o pipefail
# Failures inside $(...) must stop the script too (bash >= 4.4).
shopt -s inherit_errexit 2>/dev/null || true

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

KIND_CLUSTER_NAME="${KIND_CLUSTER_NAME:-ssm-e2e}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
REUSE_CLUSTER="${REUSE_CLUSTER:-0}"
# istio.io/client-go is tagged in lockstep with Istio itself: there is no
# offset between the two (net-istio's hack/update-deps.sh installs Istio
# X.Y.Z and runs `go get istio.io/client-go@vX.Y.Z`). SSM's go.mod pins
# client-go v1.31.4 (istio.io/api from the 1.31 branch), so the Istio that
# serves exactly the API SSM is compiled against is 1.31.4.
ISTIO_VERSION="${ISTIO_VERSION:-1.31.4}"
ISTIOCTL="${ISTIOCTL:-}"
# Knative's Go modules are v0.(N+27) for release 1.N (serving v0.27.0 was
# knative-v1.0.0): SSM's knative.dev/serving v0.50.0 is knative-v1.23.0.
KNATIVE_VERSION="${KNATIVE_VERSION:-knative-v1.23.0}"
KO_PLATFORM="${KO_PLATFORM:-}"
GATEWAY_HTTP_PORT="${GATEWAY_HTTP_PORT:-31080}"
GATEWAY_HTTPS_PORT="${GATEWAY_HTTPS_PORT:-31443}"
INGRESS_ENDPOINT="${INGRESS_ENDPOINT:-127.0.0.1}"
SERVICE_DOMAIN="${SERVICE_DOMAIN:-example.com}"
ENABLE_BETA="${ENABLE_BETA:-1}"
ENABLE_ALPHA="${ENABLE_ALPHA:-1}"
SKIP_TESTS="${SKIP_TESTS:-}"
TEST_RUN="${TEST_RUN:-TestIngressConformance}"
TEST_TIMEOUT="${TEST_TIMEOUT:-60m}"
TEST_ARGS="${TEST_ARGS:-}"

readonly SSM_INGRESS_CLASS="ssm.ingress.networking.knative.dev"
# config-ssm's default gateway Services are named *.svc.cluster.local, and
# kind's clusters use that suffix: the suite must be told the same one.
readonly CLUSTER_SUFFIX="cluster.local"
# The suite runs its backends as plain Pods in this namespace.
readonly TEST_NAMESPACE="serving-tests"
# The images the suite refers to as {{.Repository}}/{{.Name}}:{{.Tag}};
# ko's --base-import-paths names each after its last path element.
readonly TEST_IMAGE_TAG="latest"
readonly TEST_IMAGES=(
  knative.dev/networking/test/test_images/grpc-ping
  knative.dev/networking/test/test_images/httpproxy
  knative.dev/networking/test/test_images/retry
  knative.dev/networking/test/test_images/runtime
  knative.dev/networking/test/test_images/timeout
  knative.dev/networking/test/test_images/wsserver
)

# ko loads images straight into the kind nodes of KIND_CLUSTER_NAME.
export KO_DOCKER_REPO="kind.local"
export KIND_CLUSTER_NAME

CREATED_CLUSTER=0
WORK_DIR=""

log() { echo ">> $*"; }

die() {
  echo "e2e-kind.sh: $*" >&2
  exit 1
}

check_prerequisites() {
  local missing=() tool
  for tool in kind kubectl ko docker go curl tar; do
    if ! command -v "${tool}" >/dev/null 2>&1; then
      missing+=("${tool}")
    fi
  done
  if ((${#missing[@]} > 0)); then
    die "missing on PATH: ${missing[*]} (test/README.md lists what each is for)"
  fi
  # The docker client alone is not enough: kind needs an engine to talk to.
  if ! docker info >/dev/null 2>&1; then
    die "docker is installed but no Docker engine answers ('docker info' failed); kind needs a running engine"
  fi
}

# The images must match the nodes' architecture, which is the engine's, not
# necessarily the machine running this script.
detect_platform() {
  local arch
  arch="$(docker info --format '{{.Architecture}}')"
  case "${arch}" in
    x86_64 | amd64) echo "linux/amd64" ;;
    aarch64 | arm64) echo "linux/arm64" ;;
    *) die "Docker engine architecture ${arch} is not supported; set KO_PLATFORM (e.g. linux/amd64)" ;;
  esac
}

cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ -n "${KUBECONFIG:-}" && -f "${KUBECONFIG}" ]]; then
    dump_state || true
  fi
  if [[ "${CREATED_CLUSTER}" == 1 && "${KEEP_CLUSTER}" != 1 ]]; then
    log "Deleting kind cluster ${KIND_CLUSTER_NAME} (KEEP_CLUSTER=1 keeps it)"
    kind delete cluster --name "${KIND_CLUSTER_NAME}" --kubeconfig "${KUBECONFIG}" || true
    rm -rf "${WORK_DIR}"
  elif [[ -n "${WORK_DIR}" ]]; then
    log "Cluster ${KIND_CLUSTER_NAME} kept; KUBECONFIG=${KUBECONFIG:-}"
  fi
  exit "${rc}"
}

# What a failed run most often needs: which pods are not running and what
# SSM's controller said.
dump_state() {
  echo "=== pods (failed run)" >&2
  kubectl get pods --all-namespaces -o wide >&2
  echo "=== kingresses" >&2
  kubectl get kingresses.networking.internal.knative.dev --all-namespaces >&2
  echo "=== ssm-controller logs (last 200 lines)" >&2
  kubectl -n knative-serving logs deployment/ssm-controller --tail=200 >&2
}

create_cluster() {
  if kind get clusters 2>/dev/null | grep -qx "${KIND_CLUSTER_NAME}"; then
    if [[ "${REUSE_CLUSTER}" != 1 ]]; then
      die "kind cluster ${KIND_CLUSTER_NAME} already exists: delete it ('kind delete cluster --name ${KIND_CLUSTER_NAME}'), set REUSE_CLUSTER=1 or choose another KIND_CLUSTER_NAME"
    fi
    log "Reusing kind cluster ${KIND_CLUSTER_NAME}"
    kind get kubeconfig --name "${KIND_CLUSTER_NAME}" >"${KUBECONFIG}"
    return
  fi

  # The suite dials --ingressendpoint on the gateway Service's NodePorts.
  # Fixing those NodePorts (install_istio) and mapping them to the same ports
  # on the host's loopback makes 127.0.0.1 work wherever Docker runs, also
  # where node IPs are not routable from the host (Docker Desktop). They are
  # mapped on a worker: kind's control-plane node does not reliably serve
  # NodePorts (net-istio's kind CI avoids it too).
  cat >"${WORK_DIR}/kind.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
    extraPortMappings:
      - containerPort: ${GATEWAY_HTTP_PORT}
        hostPort: ${GATEWAY_HTTP_PORT}
        listenAddress: 127.0.0.1
      - containerPort: ${GATEWAY_HTTPS_PORT}
        hostPort: ${GATEWAY_HTTPS_PORT}
        listenAddress: 127.0.0.1
EOF
  local args=(--name "${KIND_CLUSTER_NAME}" --kubeconfig "${KUBECONFIG}"
    --config "${WORK_DIR}/kind.yaml" --wait 5m)
  if [[ -n "${KIND_NODE_IMAGE}" ]]; then
    args+=(--image "${KIND_NODE_IMAGE}")
  fi
  log "Creating kind cluster ${KIND_CLUSTER_NAME}"
  CREATED_CLUSTER=1
  kind create cluster "${args[@]}"
}

# istioctl for ISTIO_VERSION, downloaded from Istio's GitHub release unless
# ISTIOCTL names one.
istioctl_path() {
  if [[ -n "${ISTIOCTL}" ]]; then
    echo "${ISTIOCTL}"
    return
  fi
  local os arch asset
  case "$(uname -s)" in
    Linux) os="linux" ;;
    Darwin) os="osx" ;;
    *) die "no istioctl download for $(uname -s); set ISTIOCTL to an istioctl ${ISTIO_VERSION}" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch="amd64" ;;
    aarch64 | arm64) arch="arm64" ;;
    *) die "no istioctl download for $(uname -m); set ISTIOCTL to an istioctl ${ISTIO_VERSION}" ;;
  esac
  # Istio names its macOS amd64 asset plain "osx".
  if [[ "${os}" == "osx" && "${arch}" == "amd64" ]]; then
    asset="istioctl-${ISTIO_VERSION}-osx.tar.gz"
  else
    asset="istioctl-${ISTIO_VERSION}-${os}-${arch}.tar.gz"
  fi
  local url="https://github.com/istio/istio/releases/download/${ISTIO_VERSION}/${asset}"
  curl --fail --silent --show-error --location "${url}" |
    tar -xz -C "${WORK_DIR}" istioctl ||
    die "downloading istioctl from ${url} failed; set ISTIOCTL to an istioctl ${ISTIO_VERSION}"
  echo "${WORK_DIR}/istioctl"
}

install_istio() {
  log "Installing Istio ${ISTIO_VERSION}"
  local istioctl
  istioctl="$(istioctl_path)"
  # No sidecar injection anywhere (the suite's backends are plain Pods, as in
  # net-istio's no-mesh CI profile), and a NodePort ingress gateway with
  # fixed NodePorts: kind has no load balancer, and the suite reaches the
  # gateway through --ingressendpoint plus the Service's NodePorts. The
  # chart replaces the whole ports list, so all three ports are listed.
  cat >"${WORK_DIR}/istio.yaml" <<EOF
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: default
  meshConfig:
    defaultConfig:
      terminationDrainDuration: 20s
  values:
    global:
      proxy:
        clusterDomain: ${CLUSTER_SUFFIX}
    gateways:
      istio-ingressgateway:
        type: NodePort
        autoscaleEnabled: false
        ports:
          - name: status-port
            port: 15021
            targetPort: 15021
            protocol: TCP
          - name: http2
            port: 80
            targetPort: 8080
            nodePort: ${GATEWAY_HTTP_PORT}
            protocol: TCP
          - name: https
            port: 443
            targetPort: 8443
            nodePort: ${GATEWAY_HTTPS_PORT}
            protocol: TCP
EOF
  "${istioctl}" install --skip-confirmation -f "${WORK_DIR}/istio.yaml"
  kubectl -n istio-system rollout status deployment/istiod --timeout=5m
  kubectl -n istio-system rollout status deployment/istio-ingressgateway --timeout=5m
}

install_knative_serving() {
  local base="https://github.com/knative/serving/releases/download/${KNATIVE_VERSION}"
  log "Installing Knative Serving ${KNATIVE_VERSION}"
  kubectl apply -f "${base}/serving-crds.yaml"
  kubectl wait crd --for=condition=Established --timeout=2m \
    -l knative.dev/crd-install=true
  kubectl apply -f "${base}/serving-core.yaml"
  kubectl -n knative-serving wait deployment --all \
    --for=condition=Available --timeout=5m
}

install_ssm() {
  # One apply, as users install it: config/ carries the CRDs and nothing that
  # needs them in the same apply (the controller creates the default
  # ProxyPool that config-ssm names).
  log "Building and installing SSM (ko apply -f config/, one apply)"
  (cd "${REPO_ROOT}" && ko apply --platform="${KO_PLATFORM}" -f config/)
  local deployment
  for deployment in ssm-webhook ssm-controller ssm-pool; do
    kubectl -n knative-serving rollout status "deployment/${deployment}" --timeout=5m
  done
  local i
  for ((i = 0; i < 60; i++)); do
    kubectl -n knative-serving get proxypool default >/dev/null 2>&1 && break
    sleep 2
  done
  kubectl -n knative-serving get proxypool default >/dev/null ||
    { echo "the controller did not create the default ProxyPool" >&2; return 1; }

  # Knative's own webhook validates these ConfigMaps, so this comes after
  # Serving is Available.
  log "Making SSM the ingress class (config-network) and ${SERVICE_DOMAIN} the domain (config-domain)"
  kubectl -n knative-serving patch configmap/config-network --type merge \
    -p "{\"data\":{\"ingress-class\":\"${SSM_INGRESS_CLASS}\"}}"
  kubectl -n knative-serving patch configmap/config-domain --type merge \
    -p "{\"data\":{\"${SERVICE_DOMAIN}\":\"\"}}"
}

build_test_images() {
  log "Building the conformance suite's test images into ${KO_DOCKER_REPO}"
  # From test/conformance: its go.mod has the images as tool dependencies.
  (cd "${REPO_ROOT}/test/conformance" &&
    ko build --platform="${KO_PLATFORM}" --base-import-paths \
      --tags="${TEST_IMAGE_TAG}" "${TEST_IMAGES[@]}" >/dev/null)
  kubectl create namespace "${TEST_NAMESPACE}" --dry-run=client -o yaml |
    kubectl apply -f -
}

run_conformance() {
  local endpoint="${INGRESS_ENDPOINT}"
  local suite_flags=(
    --kubeconfig="${KUBECONFIG}"
    --ingressClass="${SSM_INGRESS_CLASS}"
    --ingressendpoint="${endpoint}"
    --cluster-suffix="${CLUSTER_SUFFIX}"
    --service-domain="${SERVICE_DOMAIN}"
    --dockerrepo="${KO_DOCKER_REPO}"
    --tag="${TEST_IMAGE_TAG}"
  )
  if [[ "${ENABLE_BETA}" == 1 ]]; then
    suite_flags+=(--enable-beta)
  fi
  if [[ "${ENABLE_ALPHA}" == 1 ]]; then
    suite_flags+=(--enable-alpha)
  fi
  if [[ -n "${SKIP_TESTS}" ]]; then
    suite_flags+=(--skip-tests="${SKIP_TESTS}")
  fi
  local extra=()
  if [[ -n "${TEST_ARGS}" ]]; then
    read -r -a extra <<<"${TEST_ARGS}"
  fi

  log "Running the ingress conformance suite (gateway at ${endpoint})"
  (cd "${REPO_ROOT}/test/conformance" &&
    go test -tags e2e -count=1 -timeout "${TEST_TIMEOUT}" -run "${TEST_RUN}" -v . \
      -args "${suite_flags[@]}" ${extra[@]+"${extra[@]}"})
}

main() {
  check_prerequisites
  if [[ -z "${KO_PLATFORM}" ]]; then
    KO_PLATFORM="$(detect_platform)"
  fi

  WORK_DIR="$(mktemp -d -t ssm-e2e.XXXXXX)"
  # A kubeconfig of its own: the user's current context is never touched.
  export KUBECONFIG="${WORK_DIR}/kubeconfig"
  trap cleanup EXIT

  create_cluster
  install_istio
  install_knative_serving
  install_ssm
  build_test_images
  run_conformance
  log "Conformance suite passed against ${SSM_INGRESS_CLASS}"
}

main "$@"
