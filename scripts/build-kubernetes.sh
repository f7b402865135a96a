#!/usr/bin/env bash
# Builds, once per machine, what the kubernetes backend's tests need, from the Go module proxy:
# Pulumi's Kubernetes provider plugin (matching npm @pulumi/kubernetes 4.25.0), etcd, and the
# Kubernetes control plane and node (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet) plus the CNI plugins a node needs. One binary at a time, each marked done only after it
# built, into a cache folder keyed by the versions; a second run does nothing.
#
#   scripts/build-kubernetes.sh [plugin|etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|cni|pause ...]
#
# With no argument it builds everything, in that order. Prints the cache folder on its last line.
set -euo pipefail

KUBE_VERSION=v1.34.4
STAGING_VERSION=v0.34.4
PLUGIN_VERSION=4.25.0
PLUGIN_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PLUGIN_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
ETCD_VERSION=v3.6.16
CNI_VERSION=v1.6.2

CACHE="${DSTACK_KUBE_CACHE:-$HOME/.cache/dstack/kube-$KUBE_VERSION-plugin-$PLUGIN_VERSION}"
BIN="$CACHE/bin"
SRC="$CACHE/src"
mkdir -p "$BIN" "$SRC" "$CACHE/done"

export GOFLAGS=-mod=mod
export GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}"
export GOCACHE="${GOCACHE:-$(go env GOCACHE)}"
export CGO_ENABLED=0
export GOTOOLCHAIN=local
NICE=(nice -n 10)

log() { echo "[build-kubernetes $(date +%H:%M:%S)] $*" >&2; }
done_marker() { echo "$CACHE/done/$1"; }
is_done() { [[ -f "$(done_marker "$1")" && -x "$BIN/$1" || -f "$(done_marker "$1")" && "$1" == pause ]]; }

# Adds to the wrapper module in $PWD the replace directives of a dependency's go.mod (local
# staging paths become the same module path at $2), since a dependency's replaces don't apply.
copy_replaces() {
  local gomod="$1" staging_version="${2:-}"
  go mod edit -json "$gomod" | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const staging = process.argv[1];
    for (const r of m.Replace || []) {
      const from = r.Old.Path + (r.Old.Version ? "@" + r.Old.Version : "");
      if (r.New.Version) console.log(from + "=" + r.New.Path + "@" + r.New.Version);
      else if (staging && r.New.Path.startsWith("./staging/")) console.log(r.Old.Path + "=" + r.Old.Path + "@" + staging);
    }' "$staging_version" | while read -r rep; do go mod edit -replace "$rep"; done
}

build_plugin() {
  local dir="$SRC/plugin"
  mkdir -p "$dir" && cd "$dir"
  [[ -f go.mod ]] || go mod init dstack.local/pulumi-resource-kubernetes >/dev/null 2>&1
  local info; info="$(go mod download -json "$PLUGIN_MODULE@$PLUGIN_MODULE_VERSION")"
  local moddir gomod
  moddir="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).Dir)' <<<"$info")"
  gomod="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).GoMod)' <<<"$info")"
  copy_replaces "$gomod"
  go mod edit -require "$PLUGIN_MODULE@$PLUGIN_MODULE_VERSION"
  # Upstream embeds generated, compacted copies of these with the version set in the schema.
  node -e '
    const fs = require("fs");
    const [dir, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(dir + "/cmd/pulumi-resource-kubernetes/schema.json", "utf8"));
    schema.version = version;
    fs.writeFileSync("schema-embed.json", JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(dir + "/cmd/pulumi-resource-kubernetes/terraform-mapping.json", "utf8"));
    fs.writeFileSync("terraform-mapping-embed.json", JSON.stringify(mapping));
  ' "$moddir" "$PLUGIN_VERSION"
  cat > main.go <<'EOF'
// A wrapper of upstream's cmd/pulumi-resource-kubernetes, whose embedded files are generated.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
EOF
  go get "$PLUGIN_MODULE/pkg/provider@$PLUGIN_MODULE_VERSION" >/dev/null
  go mod tidy >/dev/null
  "${NICE[@]}" go build -trimpath -ldflags "-s -w -X $PLUGIN_MODULE/pkg/version.Version=$PLUGIN_VERSION" \
    -o "$BIN/pulumi-resource-kubernetes.tmp" .
  mv "$BIN/pulumi-resource-kubernetes.tmp" "$BIN/pulumi-resource-kubernetes"
  ln -sf pulumi-resource-kubernetes "$BIN/plugin"
}

build_etcd() {
  local dir="$SRC/etcd"
  mkdir -p "$dir" && cd "$dir"
  [[ -f go.mod ]] || go mod init dstack.local/etcd >/dev/null 2>&1
  cat > main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
  go mod tidy >/dev/null
  "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" .
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

kube_module() {
  local dir="$SRC/kubernetes"
  mkdir -p "$dir" && cd "$dir"
  if [[ ! -f .replaced ]]; then
    [[ -f go.mod ]] || go mod init dstack.local/kubernetes >/dev/null 2>&1
    local info gomod
    info="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")"
    gomod="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0,"utf8")).GoMod)' <<<"$info")"
    copy_replaces "$gomod" "$STAGING_VERSION"
    go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
    touch .replaced
  fi
}

build_kube() {
  local name="$1"
  kube_module
  cd "$SRC/kubernetes"
  go get "k8s.io/kubernetes/cmd/$name@$KUBE_VERSION" >/dev/null
  local v=k8s.io/component-base/version
  local ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=34 -X $v.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=34"
  "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$BIN/$name.tmp" "k8s.io/kubernetes/cmd/$name"
  mv "$BIN/$name.tmp" "$BIN/$name"
}

build_cni() {
  mkdir -p "$BIN/cni"
  for p in plugins/main/bridge plugins/main/loopback plugins/ipam/host-local plugins/meta/portmap; do
    GOBIN="$BIN/cni" "${NICE[@]}" go install -trimpath -ldflags "-s -w" \
      "github.com/containernetworking/plugins/$p@$CNI_VERSION"
  done
  touch "$BIN/cni/.complete"
  ln -sf cni/bridge "$BIN/cni-bridge"
}
# Marked done through a binary the generic check can see.
cni_done() { [[ -f "$(done_marker cni)" && -x "$BIN/cni/bridge" && -x "$BIN/cni/loopback" && -x "$BIN/cni/host-local" ]]; }

build_pause() {
  # The pod sandbox image: a static binary that waits for a signal, as Kubernetes' own pause.
  local dir="$SRC/pause"
  mkdir -p "$dir" && cd "$dir"
  [[ -f go.mod ]] || go mod init dstack.local/pause >/dev/null 2>&1
  cat > main.go <<'EOF'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// Reap zombies, as the pause container is the pod's PID 1 when the PID namespace is shared.
		ch := make(chan os.Signal, 8)
		signal.Notify(ch, syscall.SIGCHLD)
		for range ch {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-c
}
EOF
  "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/pause" .
}

build_one() {
  local name="$1"
  if [[ "$name" == cni ]]; then cni_done && { log "cni: cached"; return; }
  elif is_done "$name"; then log "$name: cached"; return; fi
  log "$name: building"
  local start=$SECONDS
  case "$name" in
    plugin) build_plugin ;;
    etcd) build_etcd ;;
    kube-apiserver|kube-controller-manager|kube-scheduler|kubelet) build_kube "$name" ;;
    cni) build_cni ;;
    pause) build_pause ;;
    *) echo "unknown target: $name" >&2; exit 2 ;;
  esac
  touch "$(done_marker "$name")"
  log "$name: built in $((SECONDS - start))s"
}


targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(etcd plugin kube-apiserver kube-controller-manager kube-scheduler kubelet cni pause)
for t in "${targets[@]}"; do
  if [[ "$t" == plugin ]]; then
    if is_done pulumi-resource-kubernetes; then log "plugin: cached"; continue; fi
    log "plugin: building"; start=$SECONDS
    build_plugin
    touch "$(done_marker pulumi-resource-kubernetes)"
    log "plugin: built in $((SECONDS - start))s"
  else
    (build_one "$t")
  fi
done
echo "$CACHE"
