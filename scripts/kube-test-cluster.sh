#!/usr/bin/env bash
# The kubernetes backend's test cluster, for the README's test command and .ci/run: builds the
# binaries once per machine (scripts/build-kubernetes.sh, cached), then starts the control plane
# (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1). Stop it with
# `scripts/kube-cluster.sh stop`.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[kube-test-cluster] $*" >&2; }
log "building (cached per machine; the first build takes long): log in ~/.cache/dstack/build-kubernetes.log"
mkdir -p ~/.cache/dstack
if ! bash scripts/build-kubernetes.sh >>~/.cache/dstack/build-kubernetes.log 2>&1; then
  log "the build failed: tail of ~/.cache/dstack/build-kubernetes.log:"; tail -20 ~/.cache/dstack/build-kubernetes.log >&2; exit 5
fi
bash scripts/kube-cluster.sh start >/dev/null
# The node (kube-scheduler, containerd, kubelet: `scripts/kube-cluster.sh start --node`) is not
# started for the tests yet: its running-pod tests do not pass here (docs/kubernetes-backend.md).
