#!/usr/bin/env bash
# A Kubernetes control plane on 127.0.0.1 for the kubernetes backend's tests, from the binaries
# scripts/build-kubernetes.sh built: etcd, kube-apiserver and kube-controller-manager (its
# garbage collector finishes the provider's foreground deletes), and with `--node` also
# kube-scheduler, containerd (Debian's, its own socket and root), the CNI bridge and a kubelet
# named `localhost`, with the pause image and dstack's base image imported into containerd.
#
#   scripts/kube-cluster.sh start [--node]   start what is not running yet; prints the kubeconfig's path
#   scripts/kube-cluster.sh stop             stop what this script started (by its pid files)
#   scripts/kube-cluster.sh stop-node        stop only the scheduler, the kubelet and containerd
#   scripts/kube-cluster.sh status
#
# State (certificates, etcd's data, logs, pid files) lives in DSTACK_KUBE_STATE (default
# /tmp/dstack-kube). Everything listens on 127.0.0.1 only; pods get addresses on a local bridge.
set -euo pipefail
cd "$(dirname "$0")/.."
S="${DSTACK_KUBE_STATE:-/tmp/dstack-kube}"
CACHE="${DSTACK_KUBE_CACHE:-$HOME/.cache/dstack/kube-v1.34.4-plugin-4.25.0}"
BIN="$CACHE/bin"
API_PORT="${DSTACK_KUBE_API_PORT:-16443}"
ETCD_PORT="${DSTACK_KUBE_ETCD_PORT:-23790}"
# the kubelet's node: named and reached as `localhost` (the API server dials the node's Hostname
# address: a node IP cannot be a loopback address, and nothing may be sent to any other)
NODE=localhost
PAUSE_IMAGE=registry.k8s.io/pause:3.10
mkdir -p "$S/logs" "$S/pki" "$S/run"
log() { echo "[kube-cluster] $*" >&2; }
KC="$S/admin.kubeconfig"

running() { [[ -f "$S/run/$1.pid" ]] && kill -0 "$(cat "$S/run/$1.pid")" 2>/dev/null; }
launch() { # name, command...
  local name="$1"; shift
  if running "$name"; then return; fi
  nohup "$@" >"$S/logs/$name.log" 2>&1 &
  echo $! >"$S/run/$name.pid"
  log "$name started (pid $!, log $S/logs/$name.log)"
}
need() { [[ -x "$BIN/$1" ]] || { echo "kube-cluster: $BIN/$1 is not built: run scripts/build-kubernetes.sh" >&2; exit 5; }; }

certs() {
  local P="$S/pki"
  [[ -f "$P/done" ]] && return
  log "certificates in $P"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.crt" -days 3650 -subj "/CN=dstack-kube-ca" 2>/dev/null
  sign() { # name, subject, san
    openssl req -newkey rsa:2048 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "$2" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$P/$1.ext"
    openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -out "$P/$1.crt" -days 3650 -extfile "$P/$1.ext" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  sign kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "DNS:kubelet-client"
  sign kubelet "/CN=$NODE" "IP:127.0.0.1,DNS:$NODE,DNS:localhost"
  openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
  openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
  local token; token="$(openssl rand -hex 16)"
  echo "$token,admin,admin,system:masters" >"$P/tokens.csv"
  cat >"$KC" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: dstack-kube
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$P/ca.crt"}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: dstack-kube
  context: {cluster: dstack-kube, user: admin, namespace: default}
current-context: dstack-kube
KCFG
  chmod 600 "$KC" "$P"/*.key "$P/tokens.csv"
  touch "$P/done"
}

wait_api() {
  for _ in $(seq 1 180); do
    if kubectl --kubeconfig "$KC" get --raw /readyz >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "kube-cluster: the API server did not become ready; see $S/logs/kube-apiserver.log:" >&2
  tail -20 "$S/logs/kube-apiserver.log" >&2
  exit 5
}

start_control_plane() {
  need etcd; need kube-apiserver; need kube-controller-manager
  certs
  launch etcd "$BIN/etcd" --name default --data-dir "$S/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 10))" \
    --initial-cluster "default=http://127.0.0.1:$((ETCD_PORT + 10))" --log-level warn
  local P="$S/pki"
  launch kube-apiserver "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" --client-ca-file "$P/ca.crt" \
    --token-auth-file "$P/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$P/sa.pub" \
    --service-account-signing-key-file "$P/sa.key" --service-cluster-ip-range 10.96.0.0/24 \
    --kubelet-client-certificate "$P/kubelet-client.crt" --kubelet-client-key "$P/kubelet-client.key" \
    --kubelet-preferred-address-types Hostname --allow-privileged=true --profiling=false \
    --endpoint-reconciler-type none
  wait_api
  launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$KC" \
    --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" \
    --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
    --use-service-account-credentials=false --leader-elect=false --secure-port 0 --bind-address 127.0.0.1 \
    --controllers '*,-bootstrapsigner,-tokencleaner,-nodeipam,-cloud-node-lifecycle,-route,-service'
}

start_node() {
  need kube-scheduler; need kubelet; need pause
  [[ -x "$BIN/cni/bridge" && -x "$BIN/cni/host-local" && -x "$BIN/cni/loopback" ]] || { echo "kube-cluster: the CNI plugins are not built: run scripts/build-kubernetes.sh cni" >&2; exit 5; }
  command -v containerd >/dev/null || { echo "kube-cluster: containerd is not installed (apt-get install containerd)" >&2; exit 5; }
  launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$KC" --leader-elect=false --secure-port 0
  local C="$S/containerd"
  mkdir -p "$C" "$S/cni/net.d"
  cat >"$S/cni/net.d/10-dstack.conflist" <<'CNI'
{"cniVersion": "1.0.0", "name": "dstack", "plugins": [
  {"type": "bridge", "bridge": "dstack-cni0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "10.244.0.0/16"}]}}]}
CNI
  # runc, with a negative oomScoreAdj (the kubelet asks -998 for the pause container) raised to 0
  # when this machine's root lacks CAP_SYS_RESOURCE and so cannot lower a process's OOM score
  # (runc then fails: "failed to update /proc/self/oom_score_adj: Permission denied")
  cat >"$C/runc" <<'RUNC'
#!/bin/bash
args=("$@")
if ! (echo -1 >/proc/self/oom_score_adj) 2>/dev/null; then
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[i]}" == --bundle && -f "${args[i+1]}/config.json" ]]; then
      sed -i -E 's/"oomScoreAdj":-[0-9]+/"oomScoreAdj":0/' "${args[i+1]}/config.json"
    fi
  done
fi
exec "$(command -v runc || echo /usr/sbin/runc)" "$@"
RUNC
  chmod +x "$C/runc"
  cat >"$C/config.toml" <<TOML
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$C/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$C/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$BIN/cni"
    conf_dir = "$S/cni/net.d"
TOML
  launch containerd containerd --config "$C/config.toml"
  for _ in $(seq 1 30); do [[ -S "$C/containerd.sock" ]] && break; sleep 1; done
  import_images
  local P="$S/pki"
  mkdir -p "$S/kubelet"
  cat >"$S/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzPort: 0
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: "$P/ca.crt"}}
authorization: {mode: AlwaysAllow}
tlsCertFile: "$P/kubelet.crt"
tlsPrivateKeyFile: "$P/kubelet.key"
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: "unix://$C/containerd.sock"
imageServiceEndpoint: "unix://$C/containerd.sock"
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: /etc/resolv.conf
YAML
  launch kubelet "$BIN/kubelet" --config "$S/kubelet.yaml" --kubeconfig "$KC" --root-dir "$S/kubelet" \
    --hostname-override "$NODE" --cert-dir "$S/kubelet/pki"
  for _ in $(seq 1 120); do
    if kubectl --kubeconfig "$KC" get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; then
      log "node $NODE is Ready"; return 0
    fi
    sleep 1
  done
  echo "kube-cluster: node $NODE did not become Ready; see $S/logs/kubelet.log and containerd.log:" >&2
  tail -15 "$S/logs/kubelet.log" >&2
  exit 5
}

# The pause image (a static binary, scripts/build-kubernetes.sh pause) and dstack's base image,
# imported into containerd's k8s.io namespace: there is no registry to pull from.
import_images() {
  local C="$S/containerd" ctr=(ctr -a "$S/containerd/containerd.sock" -n k8s.io)
  if ! "${ctr[@]}" images ls -q | grep -qx "$PAUSE_IMAGE"; then
    local d; d="$(mktemp -d)"
    cp "$BIN/pause" "$d/pause"
    printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$d/Dockerfile"
    DOCKER_BUILDKIT=0 docker build -q -t "$PAUSE_IMAGE" "$d" >/dev/null
    docker save "$PAUSE_IMAGE" | "${ctr[@]}" images import - >/dev/null
    docker rmi "$PAUSE_IMAGE" >/dev/null 2>&1 || true
    rm -rf "$d"
    log "imported $PAUSE_IMAGE"
  fi
  local base
  for base in $(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^dstack-base:' || true); do
    if ! "${ctr[@]}" images ls -q | grep -qx "docker.io/library/$base"; then
      docker save "$base" | "${ctr[@]}" images import - >/dev/null
      log "imported $base"
    fi
  done
}

stop() {
  local name
  for name in "$@"; do
    if running "$name"; then
      kill "$(cat "$S/run/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 20); do running "$name" || break; sleep 0.5; done
      running "$name" && kill -9 "$(cat "$S/run/$name.pid")" 2>/dev/null || true
      log "$name stopped"
    fi
    rm -f "$S/run/$name.pid"
  done
  # the pods' containers outlive their shims' parent: end them too (only those of our containerd)
  if [[ -d "$S/containerd/state" ]]; then
    pgrep -f "containerd-shim-runc-v2 .*-address $S/containerd/containerd.sock" | xargs -r kill -9 2>/dev/null || true
    grep -qs " $S/" /proc/mounts && awk -v s="$S/" '$2 ~ "^"s {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  fi
}

case "${1:-}" in
  start)
    start_control_plane
    if [[ "${2:-}" == --node ]]; then start_node; fi
    echo "$KC"
    ;;
  stop)
    stop kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd
    if ip link show dstack-cni0 >/dev/null 2>&1; then ip link del dstack-cni0; fi # the pods' bridge (CNI)
    ;;
  stop-node) stop kubelet containerd kube-scheduler ;;
  status)
    for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet; do
      if running "$name"; then echo "$name: running (pid $(cat "$S/run/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  *) echo "usage: $0 start [--node] | stop | stop-node | status" >&2; exit 2 ;;
esac
