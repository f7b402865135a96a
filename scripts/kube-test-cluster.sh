#!/usr/bin/env bash
# The kubernetes backend's test cluster, for the README's test command and .ci/run: builds the
# binaries once per machine (scripts/build-kubernetes.sh, cached), then starts the control plane
# and, when it can be made to run here, the node (kube-scheduler, containerd, kubelet). A node
# that does not come up is stopped again (the control-plane tests still run; the running-pod
# tests then fail under CI=true, naming why). Stop it all with `scripts/kube-cluster.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[kube-test-cluster] $*" >&2; }
log "building (cached per machine; the first build takes long): log in ~/.cache/dstack/build-kubernetes.log"
mkdir -p ~/.cache/dstack
if ! bash scripts/build-kubernetes.sh >>~/.cache/dstack/build-kubernetes.log 2>&1; then
  log "the build failed: tail of ~/.cache/dstack/build-kubernetes.log:"; tail -20 ~/.cache/dstack/build-kubernetes.log >&2; exit 5
fi
bash scripts/kube-cluster.sh start >/dev/null
if ! bash scripts/kube-cluster.sh start --node >/dev/null; then
  log "the node did not come up; stopping it (the control plane keeps running)"
  bash scripts/kube-cluster.sh stop-node
fi
