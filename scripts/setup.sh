#!/usr/bin/env bash
# Prepares a fresh machine for dstack: system packages (when root with apt), a Docker engine,
# node modules, the build, then `dstack setup` (Pulumi CLI + base image). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    log "missing: ${need_pkgs[*]}; install them with your package manager"
  fi
fi

docker_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
if [ -z "${DOCKER_HOST:-}" ] && ! docker_up; then
  if [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    log "starting dockerd on unix:///var/run/docker.sock (--bridge=none --iptables=false)"
    mkdir -p /var/log
    nohup dockerd --host=unix:///var/run/docker.sock --bridge=none --iptables=false --ip6tables=false \
      >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker_up && break; sleep 0.5; done
    docker_up || { log "dockerd did not start; see /var/log/dockerd.log"; tail -20 /var/log/dockerd.log >&2; exit 5; }
  else
    log "no Docker engine: start one (or set DOCKER_HOST) and run this again"; exit 5
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "npm run build"
npm run build --silent
./bin/dstack setup
