#!/usr/bin/env bash
# Builds dstack's local base image: Debian (minbase) by debootstrap with openssh-server,
# python3 with pip and venv (`python` is python3; pip may install into the system Python, as in
# a container image: the PEP 668 marker is removed), git, curl and ca-certificates, loaded with
# `docker import`. The suite (DSTACK_DEBIAN_SUITE, default bookworm) decides the Python:
# bullseye 3.9, bookworm 3.11, trixie 3.13 (src/stacks/base-image.ts, BASE_SUITES).
#
# The mirror is read at run time from this machine's apt sources (deb822 files in
# /etc/apt/sources.list.d/*.sources, else /etc/apt/sources.list): the URI of the suite's own
# entry, else that of the first plain Debian entry (a Debian mirror serves every suite); no
# host name lives here. Override with DSTACK_DEBIAN_MIRROR=<url>.
#
# Usage: build-base-image.sh TAG [EXTRA_TAG...]
#        build-base-image.sh --print-mirror      (the mirror it would use; DSTACK_APT_ROOT=/ by default)
#   The first tag is the content tag (src/stacks/base-image.ts passes dstack-base:<recipe hash>),
#   the others are aliases (dstack-base:latest). Prints timings as `timing <step> <seconds>`
#   on stderr so `dstack setup` and docs/benchmarks.md can report them.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 TAG [EXTRA_TAG...] | --print-mirror" >&2; exit 2; }
TAG="$1"; shift
SUITE="${DSTACK_DEBIAN_SUITE:-bookworm}"
APT_ROOT="${DSTACK_APT_ROOT:-}"
# --- recipe begin (src/stacks/base-image.ts hashes the lines up to "recipe end" into the tag) ---
PACKAGES="openssh-server,python3,python3-pip,python3-venv,python-is-python3,git,curl,ca-certificates"
# --- recipe end ---
log() { printf '[base-image] %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }


mirror_from_sources() {
  local SUITE="${1:-$SUITE}" f uri suites
  # deb822 .sources files: take the URIs of the stanza whose Suites list the suite itself.
  for f in "$APT_ROOT"/etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '
      BEGIN { RS=""; FS="\n" }
      {
        u=""; s=""; t=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u=$i; sub(/^URIs:[ \t]*/, "", u) }
          if ($i ~ /^Suites:/) { s=" " $i " "; sub(/^ Suites:/, "", s) }
          if ($i ~ /^Types:/) { t=$i }
        }
        if (t ~ /deb([ \t]|$)/ && index(s, " " suite " ") > 0 && u != "") { split(u, a, /[ \t]+/); print a[1]; exit }
      }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  # one-line format: deb [opts] URI SUITE COMPONENTS
  for f in "$APT_ROOT"/etc/apt/sources.list "$APT_ROOT"/etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == suite) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

# another suite of the same archive: the mirror of this machine's own release
host_suite() { . "$APT_ROOT"/etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}"; }
MIRROR="${DSTACK_DEBIAN_MIRROR:-$(mirror_from_sources)}"
[ -n "$MIRROR" ] || MIRROR="$(mirror_from_sources "$(host_suite)")"
[ -n "$MIRROR" ] || MIRROR="$(mirror_from_sources bookworm)"
[ -n "$MIRROR" ] || { echo "no Debian mirror for $SUITE in /etc/apt/sources.list{,.d}: set DSTACK_DEBIAN_MIRROR" >&2; exit 5; }
if [ "$TAG" = --print-mirror ]; then echo "$MIRROR"; exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap not found: apt-get install debootstrap" >&2; exit 5; }
command -v docker >/dev/null || { echo "docker CLI not found: apt-get install docker.io" >&2; exit 5; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root: run dstack setup as root (or build the base image as root once)" >&2; exit 5; }
log "suite $SUITE, mirror $MIRROR, packages $PACKAGES"

# --- recipe begin ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dstack-base.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/rootfs"

t0=$(now)
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
  tail -30 "$WORK/debootstrap.log" >&2; echo "debootstrap failed (log above)" >&2; exit 4; }
printf 'timing debootstrap %s\n' "$(elapsed "$t0")" >&2

# The image's apt uses the same mirror (apt-get works inside containers; build: commands need it).
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$ROOT/etc/apt/sources.list"
rm -f "$ROOT"/etc/apt/sources.list.d/*.sources 2>/dev/null || true
# Host keys are per container (the local backend injects one at create time), never baked in.
rm -f "$ROOT"/etc/ssh/ssh_host_*
mkdir -p "$ROOT/run/sshd"
: >"$ROOT/etc/machine-id"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/*.log "$ROOT"/tmp/*
# pip installs into the system Python, as in any container image (PEP 668's marker is for hosts)
rm -f "$ROOT"/usr/lib/python3*/EXTERNALLY-MANAGED
PY=$(chroot "$ROOT" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo "")

t1=$(now)
tar --numeric-owner --xattrs -C "$ROOT" -c . | docker import \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL dstack.base=true dstack.python=$PY dstack.suite=$SUITE" \
  - "$TAG" >/dev/null
printf 'timing import %s\n' "$(elapsed "$t1")" >&2
# --- recipe end ---
for extra in "$@"; do docker tag "$TAG" "$extra"; done
log "built $TAG (python $PY) in $(elapsed "$t0") s"
