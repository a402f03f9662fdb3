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

# cluster.sh runs a real, local Kubernetes control plane for SSM's
# integration tests, built from Go modules by hack/build-tools.sh:
#
#   cluster.sh up        bring it up (idempotent: a half-up cluster is torn
#                        down and brought up again)
#   cluster.sh down      stop every process and remove every namespace it made
#   cluster.sh status    what runs, and where
#   cluster.sh exec CMD  run CMD inside the cluster's network (kubectl, tests)
#   cluster.sh kubectl … kubectl as cluster admin
#   cluster.sh kill NAME SIGKILL one component (its process group), as a
#                        crash would (ssm-controller-1, ssm-pool for all its
#                        replicas, standin-0, kn-activator, ...)
#   cluster.sh start NAME start a killed component again: an SSM replica
#                        (its pod, as a kubelet restarts a container; ssm-pool
#                        also restarts any stand-in that ended with its ADS
#                        stream), standin-N
#
# Layout. Nothing binds on the host: every process runs inside private
# network namespaces this script creates. "ssm-hub" holds a bridge
# (10.200.0.1/24) and the control plane: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, KWOK. Every component built on
# knative.dev/pkg's sharedmain binds fixed ports (8080, 8008, ...) on all
# interfaces, so each gets its own namespace with a veth on the bridge, as a
# pod would. SSM is installed with one `kubectl apply -f config/`; each pod
# its Deployments make runs as a process (hack/localpod reads its command
# line from the Pod) in namespace DEPLOYMENT-N: ssm-controller-0/-1
# 10.200.0.10/.13, ssm-webhook-0/-1 .11/.14, ssm-pool-0 .12 (the xDS + lease
# server of pooled proxies). They talk to the apiserver as their pods'
# ServiceAccounts (RBAC is on); each pod is reported Running and Ready as a
# kubelet would, so Services' endpoints are the endpoints controller's, and
# the apiserver reaches the webhook through them
# (--enable-aggregator-routing). test/README.md ("As installed") lists what
# differs from a real cluster, and why.
#
#   SSM_CLUSTER_DIR  state: certificates, kubeconfigs, logs, pids
#                    (default: $XDG_CACHE_HOME/ssm-cluster)
#   SSM_TOOLS_DIR    where hack/build-tools.sh caches binaries
#   SSM_KNATIVE=1    also run Knative Serving itself (proof level L3): its
#                    webhook, controller, autoscaler and activator, each in
#                    its own namespace (kn-webhook 10.200.0.20, kn-controller
#                    .21, kn-autoscaler .22, kn-activator .23), plus
#                    kube-scheduler and KWOK in ssm-hub for the Revisions'
#                    pods. Off by default.
#   SSM_DATAPLANE=1  with SSM_KNATIVE=1: a running data plane. Pods labelled
#                    ssm.dev/local-run=true are run for real by
#                    test/podrunner (in ssm-hub): queue-proxy (cmd/queue)
#                    and user container (test/function) as processes in a
#                    network namespace pod-<uid[:8]> at an address from
#                    10.244.1.0/24 (the bridge is 10.244.1.1 and ssm-hub
#                    forwards); KWOK leaves those pods alone. Knative's
#                    autoscaler windows are shortened (6 s) so that scale to
#                    zero is quick. Off by default.
#   SSM_TRUST_DOMAIN the SPIFFE trust domain SSM is installed with, set as a
#                    user sets it: SSM_TRUST_DOMAIN of the controller's
#                    container in config/500-controller.yaml (default here:
#                    mesh.ssm.test, not the shipped cluster.local, so that
#                    every test proves the one setting reaches ssm-pool, the
#                    activator and the queue-proxy plugin).

set -o errexit
set -o nounset
set -o pipefail
shopt -s inherit_errexit

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE="${SSM_CLUSTER_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/ssm-cluster}"
HUB=ssm-hub
HUB_IP=10.200.0.1
API="https://${HUB_IP}:6443"

# SSM's Deployments in config/, each replica a network namespace at a fixed
# address on the bridge (replica N of DEPLOYMENT is DEPLOYMENT-N). The
# replica count is the manifest's (localpod replicas); these are only the
# addresses there is room for.
declare -A COMPONENT_IP=(
  [ssm-controller-0]=10.200.0.10
  [ssm-webhook-0]=10.200.0.11
  [ssm-pool-0]=10.200.0.12
  [ssm-controller-1]=10.200.0.13
  [ssm-webhook-1]=10.200.0.14
  [ssm-pool-1]=10.200.0.15
)
# The manifest in config/ of each SSM Deployment.
declare -A SSM_MANIFEST=(
  [ssm-controller]=500-controller.yaml
  [ssm-webhook]=500-webhook.yaml
  [ssm-pool]=500-pool.yaml
)

# Knative Serving's components (SSM_KNATIVE=1 only). Kept apart from
# COMPONENT_IP so that down removes them whatever SSM_KNATIVE says.
declare -A KNATIVE_IP=(
  [kn-webhook]=10.200.0.20
  [kn-controller]=10.200.0.21
  [kn-autoscaler]=10.200.0.22
  [kn-activator]=10.200.0.23
)
KNATIVE="${SSM_KNATIVE:-0}"

# Pooled proxies of the running data plane (SSM_DATAPLANE=1): test/standin,
# the test-only stand-in for an Envoy, each in its own namespace as a pod of
# the ProxyPool knative-serving/default would be.
declare -A STANDIN_IP=(
  [standin-0]=10.200.0.30
  [standin-1]=10.200.0.31
)
DATAPLANE="${SSM_DATAPLANE:-0}"
TRUST_DOMAIN="${SSM_TRUST_DOMAIN:-mesh.ssm.test}"
# The running data plane's pod addresses (SSM_DATAPLANE=1); KWOK's fake pods
# keep 10.244.0.0/24.
POD_GW=10.244.1.1

log() { echo "--- $(date +%T) $*" >&2; }
die() { echo "cluster.sh: $*" >&2; exit 1; }

in_hub() { ip netns exec "${HUB}" "$@"; }

kubectl_admin() {
  in_hub "${TOOLS}/bin/kubectl" --kubeconfig "${STATE}/admin.kubeconfig" "$@"
}

# --- processes ---------------------------------------------------------------

# start NAME NETNS CMD...: run CMD in NETNS, detached, logging to
# logs/NAME.log (a new log on up; a restart appends to it, so that tests
# reading a component's log still see what it did before).
start() {
  local name="$1" ns="$2"
  shift 2
  log "starting ${name} (netns ${ns})"
  if [[ "${RESTART:-0}" == 1 ]]; then
    echo "--- $(date +%T.%N) cluster.sh: restarted" >>"${STATE}/logs/${name}.log"
    ip netns exec "${ns}" setsid "$@" >>"${STATE}/logs/${name}.log" 2>&1 < /dev/null &
  else
    ip netns exec "${ns}" setsid "$@" >"${STATE}/logs/${name}.log" 2>&1 < /dev/null &
  fi
  echo $! > "${STATE}/pids/${name}"
}

# alive NAME: the process started as NAME still runs.
alive() {
  local pid
  pid="$(cat "${STATE}/pids/$1" 2>/dev/null)" || return 1
  kill -0 "${pid}" 2>/dev/null
}

# died NAME: report a component that exited, with its log tail, and fail.
died() {
  echo "cluster.sh: $1 exited; last lines of its log (${STATE}/logs/$1.log):" >&2
  tail -n 30 "${STATE}/logs/$1.log" >&2 || true
  return 1
}

# wait_for NAME SECONDS CMD...: poll CMD until it succeeds, NAME dies or time runs out.
wait_for() {
  local name="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    alive "${name}" || died "${name}"
    if ((SECONDS >= deadline)); then
      echo "cluster.sh: ${name} not ready after ${seconds}s; last lines of its log:" >&2
      tail -n 30 "${STATE}/logs/${name}.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# --- network -----------------------------------------------------------------

make_network() {
  log "network namespaces and bridge"
  ip netns add "${HUB}"
  in_hub ip link set lo up
  in_hub ip link add br0 type bridge
  in_hub ip addr add "${HUB_IP}/24" dev br0
  in_hub ip link set br0 up
  local c veth
  for c in "${!COMPONENT_IP[@]}"; do
    # Named after the address, which is unique where names may not be
    # within an interface name's 15 characters.
    veth="v-${COMPONENT_IP[${c}]##*.}"
    ip netns add "${c}"
    ip -n "${HUB}" link add "${veth}" type veth peer name eth0 netns "${c}"
    ip -n "${HUB}" link set "${veth}" master br0 up
    ip -n "${c}" link set lo up
    ip -n "${c}" addr add "${COMPONENT_IP[${c}]}/24" dev eth0
    ip -n "${c}" link set eth0 up
    ip -n "${c}" route add default via "${HUB_IP}"
  done
}

remove_network() {
  local ns
  for ns in "${HUB}" "${!COMPONENT_IP[@]}" "${!KNATIVE_IP[@]}" "${!STANDIN_IP[@]}"; do
    if ip netns list | grep -qw "${ns}"; then
      ip netns delete "${ns}"
    fi
    # Hosts files made by write_knative_hosts and write_ssm_hosts.
    if [[ -f "/etc/netns/${ns}/hosts" ]]; then
      rm -f "/etc/netns/${ns}/hosts"
      rmdir "/etc/netns/${ns}" 2>/dev/null || true
    fi
  done
}

# --- certificates and kubeconfigs ---------------------------------------------

make_pki() {
  log "certificates"
  local pki="${STATE}/pki"
  mkdir -p "${pki}"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ssm-local-ca" \
    -keyout "${pki}/ca.key" -out "${pki}/ca.crt" 2>/dev/null
  cat > "${pki}/apiserver.ext" <<EOF
subjectAltName=IP:${HUB_IP},IP:10.96.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EOF
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "${pki}/apiserver.key" -out "${pki}/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "${pki}/apiserver.csr" -CA "${pki}/ca.crt" -CAkey "${pki}/ca.key" \
    -CAcreateserial -days 2 -extfile "${pki}/apiserver.ext" -out "${pki}/apiserver.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=admin" \
    -keyout "${pki}/admin.key" -out "${pki}/admin.csr" 2>/dev/null
  echo "extendedKeyUsage=clientAuth" > "${pki}/client.ext"
  openssl x509 -req -in "${pki}/admin.csr" -CA "${pki}/ca.crt" -CAkey "${pki}/ca.key" \
    -CAcreateserial -days 2 -extfile "${pki}/client.ext" -out "${pki}/admin.crt" 2>/dev/null
  openssl genrsa -out "${pki}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${pki}/sa.key" -pubout -out "${pki}/sa.pub" 2>/dev/null
  write_kubeconfig "${STATE}/admin.kubeconfig" \
    "client-certificate: ${pki}/admin.crt
    client-key: ${pki}/admin.key"
}

# write_kubeconfig FILE USER-FIELDS: written whole, then moved into place, so
# that a process reading FILE never sees half of it.
write_kubeconfig() {
  cat > "$1.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${API}
    certificate-authority: ${STATE}/pki/ca.crt
users:
- name: user
  user:
    $2
contexts:
- name: local
  context: {cluster: local, user: user}
current-context: local
EOF
  mv -f "$1.tmp" "$1"
}

# sa_kubeconfig NAMESPACE NAME: a kubeconfig authenticating as that ServiceAccount.
sa_kubeconfig() {
  local token
  token="$(kubectl_admin create token "$2" -n "$1" --duration=48h)"
  write_kubeconfig "${STATE}/$2.kubeconfig" "token: ${token}"
  echo "${STATE}/$2.kubeconfig"
}

# --- control plane -----------------------------------------------------------

start_control_plane() {
  start etcd "${HUB}" "${TOOLS}/bin/etcd" --data-dir "${STATE}/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://${HUB_IP}:2379" --advertise-client-urls "http://${HUB_IP}:2379" \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster default=http://127.0.0.1:2380 --log-level warn
  wait_for etcd 30 in_hub curl -sf "http://${HUB_IP}:2379/health"

  local pki="${STATE}/pki"
  start kube-apiserver "${HUB}" "${TOOLS}/bin/kube-apiserver" \
    --etcd-servers "http://${HUB_IP}:2379" \
    --bind-address "${HUB_IP}" --advertise-address "${HUB_IP}" --secure-port 6443 \
    --tls-cert-file "${pki}/apiserver.crt" --tls-private-key-file "${pki}/apiserver.key" \
    --client-ca-file "${pki}/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "${pki}/sa.pub" --service-account-signing-key-file "${pki}/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode Node,RBAC --enable-aggregator-routing=true \
    --enable-admission-plugins NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook
  wait_for kube-apiserver 60 kubectl_admin get --raw /readyz

  start kube-controller-manager "${HUB}" "${TOOLS}/bin/kube-controller-manager" \
    --kubeconfig "${STATE}/admin.kubeconfig" --bind-address 127.0.0.1 --secure-port 10257 \
    --service-account-private-key-file "${pki}/sa.key" --root-ca-file "${pki}/ca.crt" \
    --cluster-signing-cert-file "${pki}/ca.crt" --cluster-signing-key-file "${pki}/ca.key" \
    --use-service-account-credentials=false --leader-elect=false \
    --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route'
}

# start_node: the fake node every pod is scheduled to, the scheduler and
# KWOK. KWOK fakes the status of Revisions' pods; it leaves alone SSM's own
# pods (cluster.sh runs them) and the pods test/podrunner runs.
start_node() {
  kubectl_admin apply -f "${REPO_ROOT}/hack/local/node.yaml" >/dev/null
  local stages="${STATE}/kwok-stages.yaml"
  write_local_stages "${TOOLS}/kwok/stages.yaml" "${stages}"
  start kube-scheduler "${HUB}" "${TOOLS}/bin/kube-scheduler" \
    --kubeconfig "${STATE}/admin.kubeconfig" --authentication-kubeconfig "${STATE}/admin.kubeconfig" \
    --authorization-kubeconfig "${STATE}/admin.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false
  start kwok "${HUB}" "${TOOLS}/bin/kwok" --kubeconfig "${STATE}/admin.kubeconfig" \
    --config "${stages}" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.0/24 --node-ip "${HUB_IP}"
  wait_for kube-scheduler 60 in_hub curl -sk -o /dev/null https://127.0.0.1:10259/healthz
  wait_for kwok 60 node_ready
  # The node lifecycle controller that would lift this taint once the node
  # is Ready does not run here (the fake node has no kubelet to watch).
  kubectl_admin taint node kwok-node-0 node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
}

# istiod reads the Istio objects SSM writes and serves the gateway's Envoy
# configuration over plaintext xDS on the bridge, where tests and SSM's
# xds readiness mode connect as the gateway would. Its CA and webhooks are
# off: no workload here needs certificates from it yet.
start_istiod() {
  cat > "${STATE}/mesh.yaml" <<EOF
rootNamespace: istio-system
defaultConfig:
  discoveryAddress: ${HUB_IP}:15010
EOF
  start istiod "${HUB}" env POD_NAMESPACE=istio-system ENABLE_CA_SERVER=false \
    INJECTION_WEBHOOK_CONFIG_NAME= VALIDATION_WEBHOOK_CONFIG_NAME= PILOT_ENABLE_ANALYSIS=false \
    "${TOOLS}/bin/pilot-discovery" discovery --kubeconfig "${STATE}/admin.kubeconfig" \
    --meshConfig "${STATE}/mesh.yaml" --grpcAddr "${HUB_IP}:15010" --httpAddr "${HUB_IP}:18080" \
    --httpsAddr 127.0.0.1:15017 --secureGRPCAddr "" --monitoringAddr 127.0.0.1:15014
  wait_for istiod 60 in_hub curl -sf "http://${HUB_IP}:18080/ready"
}

# --- SSM -----------------------------------------------------------------------

install_crds_and_config() {
  log "namespaces, CRDs and ConfigMaps"
  kubectl_admin create namespace knative-serving
  kubectl_admin create namespace istio-system
  kubectl_admin apply -f "${TOOLS}/istio/crd-all.gen.yaml" >/dev/null
  kubectl_admin apply -f "${TOOLS}/knative/crds/" >/dev/null
  kubectl_admin apply -f "${TOOLS}/knative/configmaps/" >/dev/null
  kubectl_admin wait --for condition=Established --timeout 60s crd --all >/dev/null
  # SSM as a user installs it: all of config/ in one apply, which must
  # succeed on a cluster that has never seen SSM (its CRDs and the objects
  # that use them arrive together). The ko:// image references stay as they
  # are: no image is ever pulled here (see "As installed" in test/README.md).
  # The one setting the local cluster changes, the way a user would before
  # applying: the controller's SSM_TRUST_DOMAIN.
  log "SSM: kubectl apply -f config/ (one apply; trust domain ${TRUST_DOMAIN})"
  rm -rf "${STATE}/config"
  cp -r "${REPO_ROOT}/config" "${STATE}/config"
  kubectl_admin set env --local -o yaml -f "${REPO_ROOT}/config/500-controller.yaml" \
    "SSM_TRUST_DOMAIN=${TRUST_DOMAIN}" >"${STATE}/config/500-controller.yaml"
  echo "${TRUST_DOMAIN}" >"${STATE}/trust-domain"
  kubectl_admin apply -f "${STATE}/config/" >"${STATE}/logs/install.log" 2>&1 ||
    { cat "${STATE}/logs/install.log" >&2; die "kubectl apply -f config/ failed"; }
  kubectl_admin wait --for condition=Established --timeout 60s crd --all >/dev/null
  # What a real install has and a Deployment-less local cluster lacks: the
  # gateway Service SSM reads.
  kubectl_admin apply -f "${REPO_ROOT}/hack/local/services.yaml" >/dev/null
}

build_ssm() {
  log "building SSM's binaries"
  mkdir -p "${STATE}/bin"
  go build -C "${REPO_ROOT}" -o "${STATE}/bin/" ./cmd/controller ./cmd/webhook ./cmd/pool ./hack/localpod
  if [[ "${KNATIVE}" == 1 && "${DATAPLANE}" == 1 ]]; then
    go build -C "${REPO_ROOT}" -o "${STATE}/bin/" ./cmd/queue ./cmd/activator ./test/function ./test/podrunner ./test/standin/cmd/standin
  fi
}

# start_ssm runs SSM's Deployments as config/ installed them: every pod the
# ReplicaSets made is run by run_pod with the pod's own arguments,
# environment and ServiceAccount, leader election on.
start_ssm() {
  start_deployment ssm-webhook
  # The webhook configurations came with config/; they are usable once the
  # webhook's leader has filled in their CA.
  wait_for ssm-webhook-0 60 has_ca_bundle validatingwebhookconfiguration validation.webhook.ssm.dev
  wait_for ssm-webhook-0 60 has_ca_bundle mutatingwebhookconfiguration defaulting.webhook.ssm.dev
  # Every Revision Knative creates from now on is stamped with what its pods
  # are born with (sidecar-less or not); one created before would keep its
  # sidecar.
  wait_for ssm-webhook-0 60 has_ca_bundle mutatingwebhookconfiguration revisions.webhook.ssm.dev
  # No Envoy gateway runs here, so HTTP probes have no target: readiness is
  # confirmed from the routes istiod generates for the gateway instead.
  kubectl_admin patch configmap config-ssm -n knative-serving --type merge \
    -p "{\"data\":{\"readiness-mode\":\"xds\",\"xds-address\":\"${HUB_IP}:15010\"}}" >/dev/null
  write_ssm_hosts
  start_deployment ssm-controller
  # ssm-pool serves with the certificate the controller issues from SSM's CA
  # (Secret ssm-pool-tls); it reads it from the API server, as in a pod.
  wait_for ssm-controller-0 60 kubectl_admin get secret ssm-pool-tls -n knative-serving
  start_deployment ssm-pool
}

# start_deployment NAME: run every pod of SSM's Deployment NAME, replica N
# in network namespace NAME-N, and wait until each passes its readiness
# probe. The number of pods is the manifest's spec.replicas.
start_deployment() {
  local name="$1" replicas pods i
  replicas="$("${STATE}/bin/localpod" replicas -file "${REPO_ROOT}/config/${SSM_MANIFEST[${name}]}")"
  [[ -n "${COMPONENT_IP[${name}-$((replicas - 1))]:-}" ]] ||
    die "${name}: config/ asks for ${replicas} replicas; cluster.sh has addresses for fewer"
  local deadline=$((SECONDS + 60))
  until pods="$(deployment_pods "${name}")" && (($(wc -w <<<"${pods}") == replicas)); do
    ((SECONDS < deadline)) || die "${name}: ${replicas} scheduled pods expected, have: ${pods:-none}"
    sleep 0.2
  done
  i=0
  for pod in ${pods}; do
    run_pod "${name}-${i}" "${pod}"
    i=$((i + 1))
  done
  for ((i = 0; i < replicas; i++)); do
    wait_pod_ready "${name}-${i}"
  done
}

# deployment_pods NAME: the names of the Deployment's scheduled, undeleted
# pods, sorted.
deployment_pods() {
  kubectl_admin get pods -n knative-serving -l "app=$1" \
    -o jsonpath='{range .items[?(@.spec.nodeName)]}{.metadata.deletionTimestamp}{"|"}{.metadata.name}{"\n"}{end}' |
    awk -F'|' '$1 == "" { print $2 }' | sort
}

# run_pod REPLICA POD: what the kubelet does for POD, in REPLICA's network
# namespace: run its container (localpod argv), then report it Running at
# that address. The pod's ServiceAccount token comes as a kubeconfig, and
# the ko:// image is the binary built from that import path.
run_pod() {
  local replica="$1" pod="$2" ip="${COMPONENT_IP[$1]}" sa kc
  mkdir -p "${STATE}/ssm-pods"
  kubectl_admin get pod "${pod}" -n knative-serving -o json >"${STATE}/ssm-pods/${replica}.json"
  echo "${pod}" >"${STATE}/ssm-pods/${replica}.name"
  sa="$(kubectl_admin get pod "${pod}" -n knative-serving -o jsonpath='{.spec.serviceAccountName}')"
  kc="$(sa_kubeconfig knative-serving "${sa}")"
  local argv=() bin
  local images=()
  for bin in controller webhook pool; do
    images+=(-image "ko://github.com/serverless-mesh/ssm/cmd/${bin}=${STATE}/bin/${bin}")
  done
  mapfile -d '' argv < <("${STATE}/bin/localpod" argv -pod "${STATE}/ssm-pods/${replica}.json" \
    -ip "${ip}" -host-ip "${HUB_IP}" "${images[@]}" -env "KUBECONFIG=${kc}") || die "${replica}: localpod argv failed"
  ((${#argv[@]} > 0)) || die "${replica}: no command line for pod ${pod}"
  start "${replica}" "${replica}" "${argv[@]}"
  pod_status "${replica}" false
}

# pod_status REPLICA READY: report the pod REPLICA runs as Running at its
# address, ready or not, as a kubelet does (the Service's endpoints follow).
pod_status() {
  local pod
  pod="$(cat "${STATE}/ssm-pods/$1.name")"
  "${STATE}/bin/localpod" status -pod "${STATE}/ssm-pods/$1.json" -ip "${COMPONENT_IP[$1]}" \
    -host-ip "${HUB_IP}" -ready="$2" >"${STATE}/ssm-pods/$1.status.json"
  kubectl_admin patch pod "${pod}" -n knative-serving --subresource=status --type merge \
    --patch-file "${STATE}/ssm-pods/$1.status.json" >/dev/null
}

# wait_pod_ready REPLICA: poll the pod's readiness probe, then report it ready.
wait_pod_ready() {
  wait_for "$1" 60 in_hub "${STATE}/bin/localpod" probe -pod "${STATE}/ssm-pods/$1.json" -ip "${COMPONENT_IP[$1]}"
  pod_status "$1" true
}

# write_ssm_hosts: the controller reads pool counts from ssm-pool by its
# Service name; there is no cluster DNS (see write_knative_hosts).
write_ssm_hosts() {
  local ns
  for ns in "${!COMPONENT_IP[@]}"; do
    [[ "${ns}" == ssm-controller-* ]] || continue
    mkdir -p "/etc/netns/${ns}"
    {
      echo "127.0.0.1 localhost"
      echo "${COMPONENT_IP[${ns}]} ${ns}"
      echo "${COMPONENT_IP[ssm-pool-0]} ssm-pool.knative-serving.svc.cluster.local ssm-pool.knative-serving.svc ssm-pool.knative-serving"
    } > "/etc/netns/${ns}/hosts"
  done
}

# --- Knative Serving (SSM_KNATIVE=1) ------------------------------------------------

# write_knative_hosts: there is no cluster DNS, so Knative's components find
# each other's Services through a hosts file that `ip netns exec` bind-mounts
# over /etc/hosts in their namespaces (/etc/netns/NAME/hosts).
write_knative_hosts() {
  local ns svc ip
  local -A svc_ip=(
    [webhook]="${KNATIVE_IP[kn-webhook]}"
    [autoscaler]="${KNATIVE_IP[kn-autoscaler]}"
    [activator-service]="${KNATIVE_IP[kn-activator]}"
    [ssm-pool]="${COMPONENT_IP[ssm-pool-0]}"
  )
  for ns in "${!KNATIVE_IP[@]}"; do
    mkdir -p "/etc/netns/${ns}"
    {
      echo "127.0.0.1 localhost"
      echo "${KNATIVE_IP[${ns}]} ${ns}"
      for svc in "${!svc_ip[@]}"; do
        ip="${svc_ip[${svc}]}"
        echo "${ip} ${svc}.knative-serving.svc.cluster.local ${svc}.knative-serving.svc ${svc}.knative-serving"
      done
    } > "/etc/netns/${ns}/hosts"
  done
}

start_knative() {
  log "Knative Serving: configuration, Services, fake node"
  write_knative_hosts
  # SSM is the ingress; Revisions' images are never resolved (no registry
  # is reachable), and hosts are NAME.NAMESPACE.example.com.
  kubectl_admin patch configmap config-network -n knative-serving --type merge \
    -p '{"data":{"ingress-class":"ssm.ingress.networking.knative.dev"}}' >/dev/null
  kubectl_admin patch configmap config-deployment -n knative-serving --type merge \
    -p '{"data":{"registries-skipping-tag-resolving":"kind.local,ko.local,dev.local,ssm.local","queue-sidecar-image":"ssm.local/queue"}}' >/dev/null
  kubectl_admin patch configmap config-domain -n knative-serving --type merge \
    -p '{"data":{"example.com":""}}' >/dev/null
  kubectl_admin apply -f "${REPO_ROOT}/hack/local/knative.yaml" -l ssm.dev/local-phase=before-webhook >/dev/null
  if [[ "${DATAPLANE}" == 1 ]]; then
    # Scale to zero after ~12 s idle instead of ~90 s (6 s is the minimum
    # stable window of knative.dev/serving v0.50.0's autoscaler config).
    kubectl_admin patch configmap config-autoscaler -n knative-serving --type merge \
      -p '{"data":{"stable-window":"6s","scale-to-zero-grace-period":"6s"}}' >/dev/null
    # Knative's components (each alone in its namespace) serve Prometheus
    # metrics on :9090, read once at start: the activator's cold-start
    # phases are what bench/cold-path.sh measures.
    # request-metrics-protocol is what docs/policy.md tells operators to set
    # for "auto": queue-proxy then serves its request-duration histogram on
    # :9091, which SSM's autoscaler hook scrapes.
    kubectl_admin patch configmap config-observability -n knative-serving --type merge \
      -p '{"data":{"metrics-protocol":"prometheus","request-metrics-protocol":"prometheus"}}' >/dev/null
    # SSM revisions run sidecar-less, their queue-proxy terminating mTLS.
    kubectl_admin patch configmap config-ssm -n knative-serving --type merge \
      -p '{"data":{"sidecarless-revisions":"true"}}' >/dev/null
    in_hub ip addr add "${POD_GW}/24" dev br0
    in_hub sysctl -qw net.ipv4.ip_forward=1
  fi


  local serving c
  serving="$(go -C "${REPO_ROOT}" list -m -f '{{.Dir}}' knative.dev/serving)"
  # Knative's own ServiceAccounts and roles, as its release installs them.
  # Its components run here as the admin, but what each of its identities
  # may read is part of what SSM's security rests on
  # (TestL1OnlyTheControllerReadsTheCA).
  kubectl_admin apply -f "${serving}/config/core/200-serviceaccount.yaml" \
    -f "${serving}/config/core/200-roles/" >/dev/null
  # The webhook first: the controller's first writes go through it.
  start_knative_component webhook "${serving}"
  wait_for kn-webhook 60 in_hub curl -sk -o /dev/null "https://${KNATIVE_IP[kn-webhook]}:8443/"
  kubectl_admin apply -f "${REPO_ROOT}/hack/local/knative.yaml" -l ssm.dev/local-phase=after-webhook >/dev/null
  wait_for kn-webhook 60 has_ca_bundle validatingwebhookconfiguration validation.webhook.serving.knative.dev
  wait_for kn-webhook 60 has_ca_bundle mutatingwebhookconfiguration webhook.serving.knative.dev
  wait_for kn-webhook 60 has_ca_bundle validatingwebhookconfiguration config.webhook.serving.knative.dev
  for c in autoscaler activator controller; do
    start_knative_component "${c}" "${serving}"
  done
  wait_for kn-autoscaler 60 in_hub curl -s -o /dev/null "http://${KNATIVE_IP[kn-autoscaler]}:8080/"
  wait_for kn-activator 60 in_hub curl -s -o /dev/null "http://${KNATIVE_IP[kn-activator]}:8012/"
  wait_for kn-controller 60 in_hub curl -s -o /dev/null "http://${KNATIVE_IP[kn-controller]}:8080/"
  if [[ "${DATAPLANE}" == 1 ]]; then
    start_pod_runner
    start_standins
  fi
}

# start_knative_component NAME SERVING: Knative's component NAME (webhook,
# controller, autoscaler, activator) with the arguments and environment of
# its Deployment in Knative Serving's release manifests
# (config/core/deployments/NAME.yaml under SERVING, the pinned
# knative.dev/serving module), as pod kn-NAME in network namespace kn-NAME.
start_knative_component() {
  local c="$1" serving="$2" bin image extra=()
  image="ko://knative.dev/serving/cmd/${c}"
  bin="${TOOLS}/bin/knative-${c}"
  if [[ "${c}" == activator && "${DATAPLANE}" == 1 ]]; then
    # With a running data plane the activator is SSM's (cmd/activator):
    # Knative's, plus the lease hook and mTLS to sidecar-less pods; a user
    # swaps the image in the same Deployment.
    bin="${STATE}/bin/activator"
    # The Secret a user mounts at /var/run/ssm/identity; its idle period
    # (after which a request is a new cold start) follows the shortened
    # stable window, as its default follows Knative's default one.
    # ssm-pool's address is given as an IP: gRPC's DNS resolver also asks
    # for TXT records, which no DNS server here answers.
    extra=(-env "SSM_IDENTITY_DIR=$(activator_identity)" -env SSM_IDLE_PERIOD=6s
      -env "SSM_POOL_ADDRESS=${COMPONENT_IP[ssm-pool-0]}:18000")
  fi
  mkdir -p "${STATE}/kn-pods"
  local pod="${STATE}/kn-pods/kn-${c}.json" argv=()
  "${STATE}/bin/localpod" template -file "${serving}/config/core/deployments/${c}.yaml" \
    -name "kn-${c}" -namespace knative-serving >"${pod}" || die "kn-${c}: no pod template"
  mapfile -d '' argv < <("${STATE}/bin/localpod" argv -pod "${pod}" -ip "${KNATIVE_IP[kn-${c}]}" \
    -host-ip "${HUB_IP}" -image "${image}=${bin}" -env "KUBECONFIG=${STATE}/admin.kubeconfig" "${extra[@]}") ||
    die "kn-${c}: localpod argv failed"
  ((${#argv[@]} > 0)) || die "kn-${c}: no command line"
  start "kn-${c}" "kn-${c}" "${argv[@]}"
}

# --- running data plane (SSM_DATAPLANE=1) ----------------------------------------

# write_local_stages IN OUT: KWOK's stages with every Pod stage skipping
# the pods that run for real: test/podrunner's (ssm.dev/local-run) and
# SSM's own (run by start_deployment), so that KWOK never writes their status.
write_local_stages() {
  awk '
    /^---/ { pod = 0 }
    /^    kind: Pod$/ { pod = 1 }
    { print }
    pod && /^    matchExpressions:$/ {
      print "    - key: '"'"'.metadata.labels.\"ssm.dev/local-run\"'"'"'"
      print "      operator: '"'"'DoesNotExist'"'"'"
      print "    - key: '"'"'.metadata.labels.app'"'"'"
      print "      operator: '"'"'NotIn'"'"'"
      print "      values: ['"'"'ssm-controller'"'"', '"'"'ssm-webhook'"'"', '"'"'ssm-pool'"'"']"
    }' "$1" > "$2"
  [[ "$(grep -c 'ssm.dev/local-run' "$2")" -ge 1 ]] || die "KWOK stages: no Pod stage found in $1"
}

# activator_identity: the activator's certificate (Secret ssm-activator-tls,
# issued by the controller) as files, where a pod would mount it.
activator_identity() {
  secret_files ssm-activator-tls "${STATE}/activator-identity"
  echo "${STATE}/activator-identity"
}

# secret_files SECRET DIR: a certificate Secret of knative-serving that the
# controller issues (waited for), published in DIR as the kubelet mounts a
# Secret and kept in step with it (localpod secret-sync), so that renewals
# and CA rotations reach the process as they would a pod.
secret_files() {
  mkdir -p "$2"
  wait_for ssm-controller 60 kubectl_admin get secret "$1" -n knative-serving
  alive "sync-$1" || start "sync-$1" "${HUB}" "${STATE}/bin/localpod" secret-sync \
    -kubeconfig "${STATE}/admin.kubeconfig" -namespace knative-serving -name "$1" -dir "$2"
  wait_for "sync-$1" 30 test -e "$2/ca.crt"
}

# start_standins: the default ProxyPool, and its pooled proxies played by
# test/standin with the pool's certificate, connected to ssm-pool.
start_standins() {
  # The controller creates the default ProxyPool (config-ssm names it).
  wait_for ssm-controller-0 60 kubectl_admin get proxypool default -n knative-serving
  local dir="${STATE}/standin-identity" c
  secret_files ssm-proxy-default-identity "${dir}"
  for c in "${!STANDIN_IP[@]}"; do
    start_standin "${c}" "${dir}"
  done
  for c in "${!STANDIN_IP[@]}"; do
    wait_for "${c}" 30 in_hub curl -sf "http://${STANDIN_IP[${c}]}:15021/ready"
  done
}

# start_standin NAME IDENTITY-DIR: stand-in N holds its ADS stream with
# ssm-pool replica N mod replicas, as kube-proxy spreads pooled proxies'
# connections to the ssm-pool Service over its replicas (here fixed, so
# that every replica has a proxy of its own).
start_standin() {
  local n="${1#standin-}" replicas
  replicas="$("${STATE}/bin/localpod" replicas -file "${REPO_ROOT}/config/${SSM_MANIFEST[ssm-pool]}")"
  start "$1" "$1" "${STATE}/bin/standin" -node "$1" -cluster knative-serving/default \
    -pod-ip "${STANDIN_IP[$1]}" -identity "$2" -pool "${COMPONENT_IP[ssm-pool-$((n % replicas))]}:18000"
}

start_pod_runner() {
  mkdir -p "${STATE}/pods"
  # Knative's autoscaler probes a revision's public Service by name and
  # ClusterIP before scaling to zero: kube-proxy in ssm-hub (where every
  # namespace routes through) makes ClusterIPs work, masquerading so that
  # replies come back through it; the runner adds Service names to the
  # Knative components' hosts files.
  start kube-proxy "${HUB}" "${TOOLS}/bin/kube-proxy" --kubeconfig "${STATE}/admin.kubeconfig" \
    --proxy-mode nftables --masquerade-all --cluster-cidr 10.244.0.0/16 \
    --hostname-override kwok-node-0 --conntrack-max-per-core 0 \
    --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249
  wait_for kube-proxy 30 in_hub curl -sf http://127.0.0.1:10256/healthz
  start podrunner "${HUB}" "${STATE}/bin/podrunner" --kubeconfig "${STATE}/admin.kubeconfig" \
    --node kwok-node-0 --pod-cidr 10.244.1.0/24 --bridge br0 --host-ip "${HUB_IP}" \
    --queue-image ssm.local/queue --queue-bin "${STATE}/bin/queue" \
    --function-bin "${STATE}/bin/function" --state-dir "${STATE}/pods" \
    --hosts-netns "$(IFS=,; echo "${!KNATIVE_IP[*]}")"
  wait_for podrunner 30 grep -q "podrunner: running" "${STATE}/logs/podrunner.log"
}

# stop_pod_runner: the runner stops its pods' processes (their own process
# groups) and removes their namespaces itself; give it a bounded while.
stop_pod_runner() {
  local pid i
  pid="$(cat "${STATE}/pids/podrunner" 2>/dev/null)" || return 0
  kill -TERM "${pid}" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
}

# remove_pod_netns: whatever a runner left behind (killed, crashed): the
# processes in pod-* namespaces, the namespaces and their hosts files.
remove_pod_netns() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^pod-[0-9a-f]{8}$' || true); do
    ip netns pids "${ns}" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns delete "${ns}" 2>/dev/null || true
  done
  for ns in /etc/netns/pod-*; do
    [[ "$(basename "${ns}")" =~ ^pod-[0-9a-f]{8}$ ]] || continue
    rm -rf "${ns}"
  done
}

node_ready() {
  [[ "$(kubectl_admin get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

has_ca_bundle() {
  [[ -n "$(kubectl_admin get "$1" "$2" -o jsonpath='{.webhooks[0].clientConfig.caBundle}')" ]]
}

# --- commands ------------------------------------------------------------------

cmd_down() {
  local f
  stop_pod_runner
  if [[ -d "${STATE}/pids" ]]; then
    for f in "${STATE}"/pids/*; do
      [[ -e "${f}" ]] || continue
      kill -TERM -- "-$(cat "${f}")" 2>/dev/null || kill -TERM "$(cat "${f}")" 2>/dev/null || true
    done
    sleep 0.5
    for f in "${STATE}"/pids/*; do
      [[ -e "${f}" ]] || continue
      kill -KILL -- "-$(cat "${f}")" 2>/dev/null || kill -KILL "$(cat "${f}")" 2>/dev/null || true
      rm -f "${f}"
    done
  fi
  remove_pod_netns
  remove_network
  rm -rf "${STATE}/etcd" "${STATE}/pki" "${STATE}"/*.kubeconfig "${STATE}/ssm-pods"
}

cmd_up() {
  local started=${SECONDS}
  [[ "$(id -u)" == 0 ]] || die "up needs root (network namespaces)"
  TOOLS="$("${REPO_ROOT}/hack/build-tools.sh" --print-dir)" || die "tools are not built: run hack/build-tools.sh"
  # A half-up cluster is not repaired piecemeal: start from nothing.
  if ip netns list | grep -qw "${HUB}" || compgen -G "${STATE}/pids/*" >/dev/null; then
    log "a previous cluster is (partly) up: taking it down first"
    cmd_down
  fi
  mkdir -p "${STATE}/logs" "${STATE}/pids"
  if [[ "${KNATIVE}" == 1 ]]; then
    local c
    for c in "${!KNATIVE_IP[@]}"; do COMPONENT_IP[${c}]="${KNATIVE_IP[${c}]}"; done
    if [[ "${DATAPLANE}" == 1 ]]; then
      for c in "${!STANDIN_IP[@]}"; do COMPONENT_IP[${c}]="${STANDIN_IP[${c}]}"; done
    fi
  fi
  # Whatever fails from here on, nothing is left running.
  trap 'rc=$?; if ((rc != 0)); then echo "cluster.sh: up failed; taking everything down (logs stay in ${STATE}/logs)" >&2; cmd_down; fi' EXIT
  build_ssm
  make_network
  make_pki
  start_control_plane
  install_crds_and_config
  start_node
  start_istiod
  start_ssm
  if [[ "${KNATIVE}" == 1 ]]; then
    start_knative
  fi
  trap - EXIT
  log "cluster up in $((SECONDS - started))s; admin kubeconfig ${STATE}/admin.kubeconfig (use: hack/cluster.sh kubectl ...)"
}

cmd_status() {
  local f name
  for f in "${STATE}"/pids/*; do
    [[ -e "${f}" ]] || { echo "not running"; return; }
    name="$(basename "${f}")"
    if alive "${name}"; then echo "${name}: running (pid $(cat "${f}"))"; else echo "${name}: DEAD"; fi
  done
}

# wait_gone NAME SECONDS: wait until the process started as NAME has ended.
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  die "$1 still runs after $2s"
}

# cmd_kill NAME: SIGKILL the component's process group, as a crash would,
# and wait (bounded) until it is gone.
cmd_kill() {
  local name="${1:-}" target
  [[ -n "${name}" ]] || die "usage: cluster.sh kill NAME"
  for target in $(replicas_of "${name}"); do
    kill_one "${target}"
  done
}

# replicas_of NAME: the processes NAME stands for: every started replica of
# an SSM Deployment (ssm-pool → ssm-pool-0 ...), else NAME itself.
replicas_of() {
  local f found=""
  for f in "${STATE}/ssm-pods/$1"-[0-9]*.name; do
    [[ -e "${f}" ]] || continue
    found+="$(basename "${f}" .name) "
  done
  echo "${found:-$1}"
}

kill_one() {
  local name="$1" pid
  pid="$(cat "${STATE}/pids/${name}" 2>/dev/null)" || die "kill: no component ${name}"
  alive "${name}" || die "kill: ${name} is not running"
  kill -KILL -- "-${pid}" 2>/dev/null || kill -KILL "${pid}"
  wait_gone "${name}" 5
  # A kubelet would see the container die and the probe fail: the pod turns
  # unready and leaves its Services' endpoints.
  # Only after the kill: finding the tools takes a while, and a test times
  # the kill against the requests it has in flight.
  if [[ -e "${STATE}/ssm-pods/${name}.name" ]]; then
    TOOLS="${TOOLS:-$("${REPO_ROOT}/hack/build-tools.sh" --print-dir)}"
    pod_status "${name}" false
  fi
  log "killed ${name}"
}

# cmd_start NAME: start a component that kill stopped, as up started it,
# and wait until it serves: a replica of an SSM Deployment (NAME-N, or NAME
# for all of them) runs its pod again, as a kubelet restarts a container.
# Starting ssm-pool starts the stand-ins again too: a stand-in ends with
# its ADS stream (where an Envoy would reconnect), so killing ssm-pool ends
# them.
cmd_start() {
  local name="${1:-}" c r
  [[ -n "${name}" ]] || die "usage: cluster.sh start NAME"
  TOOLS="$("${REPO_ROOT}/hack/build-tools.sh" --print-dir)" || die "tools are not built: run hack/build-tools.sh"
  RESTART=1
  case "${name}" in
    ssm-controller* | ssm-webhook* | ssm-pool*)
      local restarted=0
      for r in $(replicas_of "${name}"); do
        [[ -e "${STATE}/ssm-pods/${r}.name" ]] || die "start: no replica ${r}"
        alive "${r}" && continue
        start_replica "${r}"
        restarted=1
      done
      [[ "${name}" == ssm-pool* && ${restarted} == 1 ]] || return 0
      [[ -e "${STATE}/pids/standin-0" ]] || return 0
      for c in "${!STANDIN_IP[@]}"; do
        # Its stream ended with the killed ssm-pool: it is gone or going.
        wait_gone "${c}" 5
        start_standin "${c}" "${STATE}/standin-identity"
      done
      for c in "${!STANDIN_IP[@]}"; do
        wait_for "${c}" 30 in_hub curl -sf "http://${STANDIN_IP[${c}]}:15021/ready"
      done
      ;;
    standin-*)
      [[ -n "${STANDIN_IP[${name}]:-}" ]] || die "start: no stand-in ${name}"
      alive "${name}" || start_standin "${name}" "${STATE}/standin-identity"
      wait_for "${name}" 30 in_hub curl -sf "http://${STANDIN_IP[${name}]}:15021/ready"
      ;;
    *) die "start: only SSM's replicas (ssm-pool, ssm-controller-N, ...) and standin-N can be started again (got ${name}); use up" ;;
  esac
}

# start_replica REPLICA: run the pod REPLICA ran before, as before.
start_replica() {
  run_pod "$1" "$(cat "${STATE}/ssm-pods/$1.name")"
  wait_pod_ready "$1"
}

main() {
  local cmd="${1:-}"
  shift || true
  case "${cmd}" in
    up) cmd_up ;;
    down) cmd_down; log "down" ;;
    status) cmd_status ;;
    dir) echo "${STATE}" ;;
    exec) in_hub "$@" ;;
    kubectl)
      TOOLS="$("${REPO_ROOT}/hack/build-tools.sh" --print-dir)" || die "tools are not built: run hack/build-tools.sh"
      kubectl_admin "$@"
      ;;
    kill) cmd_kill "$@" ;;
    start) cmd_start "$@" ;;
    *) die "usage: cluster.sh up|down|status|dir|exec CMD...|kubectl ARGS...|kill NAME|start NAME" ;;
  esac
}

main "$@"
