#!/bin/sh
# dstack container entry (runs inside the run's container, started by boot.sh).
# Rendered from templates/cloud-init-entry.sh by src/compiler/backends/cloud/cloud-init.ts.
# sshd (key-only) on the container port, waits for the code in /workflow, then setup/init and
# the task's commands (or, for a dev environment, stays up for SSH).
set -e
# DSTACK_ROOT: a folder standing in for / (tests run this script unprivileged); empty in containers.
R="${DSTACK_ROOT:-}"
. "$R/dstack/container.conf"
log() { echo "dstack: $*" >&2; }
W="$R/workflow"
# A run that ended stays ended when Docker restarts its container (a reboot): its end again, exit 0.
if [ -e "$W/.dstack-ended" ]; then cat "$W/.dstack-ended" >&2; exit 0; fi

# sshd, key-only, installed when the image has none.
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server
  elif command -v apk >/dev/null 2>&1; then apk add --no-cache openssh
  elif command -v dnf >/dev/null 2>&1; then dnf install -y openssh-server
  else yum install -y openssh-server; fi
fi
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
mkdir -p "$R/run/sshd" "$R/etc/ssh"
ssh-keygen -A >/dev/null 2>&1 || true
# The run's env for SSH sessions too.
mkdir -p "$R/etc/profile.d" && cp "$R/dstack/env.sh" "$R/etc/profile.d/dstack-env.sh" 2>/dev/null || true
# The host key dstack generated and pinned (delivered in the user data): no trust on first use.
set --
if [ -e "$R/dstack/ssh_host_ed25519_key" ]; then set -- -h "$R/dstack/ssh_host_ed25519_key"; fi
if [ -n "${DSTACK_LISTEN_ADDRESS:-}" ]; then set -- "$@" -o "ListenAddress=$DSTACK_LISTEN_ADDRESS"; fi
"$SSHD" -p "$CONTAINER_SSH_PORT" -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
  -o PermitRootLogin=prohibit-password -o AuthorizedKeysFile=/dstack/authorized_keys -o PermitUserEnvironment=no "$@"

# docker: true (dstack's semantics): the image's Docker daemon runs before setup and the commands.
if [ "${DOCKER_IN_DOCKER:-}" = true ] && ! docker info >/dev/null 2>&1; then
  if command -v start-dockerd >/dev/null 2>&1; then start-dockerd
  elif command -v dockerd >/dev/null 2>&1; then
    (dockerd > /var/log/dockerd.log 2>&1 &)
    n=0; until docker info >/dev/null 2>&1 || [ "$n" -ge 60 ]; do sleep 1; n=$((n + 1)); done
  fi
fi

# The code: uploaded over SSH to /workflow by `dstack up` (or the reconciler), which touches /workflow/.dstack-uploaded.
waited=0
while [ ! -e "$W/.dstack-uploaded" ] && [ "$waited" -lt "$UPLOAD_TIMEOUT" ]; do sleep 2; waited=$((waited + 2)); done
[ -e "$W/.dstack-uploaded" ] || log "no code uploaded to /workflow after ${UPLOAD_TIMEOUT}s; starting anyway"
cd "$R$WORKING_DIR" 2>/dev/null || cd "$W"

# The same markers as the local start script (dstack reads them: src/runs/observe.ts, run-log.ts).
# An end is final: written to /workflow/.dstack-ended, and the container exits 0 (its restart
# policy restarts only a crash or a reboot); the marker line carries the task's exit code.
fail() { printf '[dstack] error: %s\n' "$1" > "$W/.dstack-ended"; cat "$W/.dstack-ended" >&2; exit 0; }
if [ "${DOCKER_IN_DOCKER:-}" = true ] && ! docker info >/dev/null 2>&1; then fail "docker: true: no Docker daemon in the image (dstackai/dind runs one with start-dockerd)"; fi
if [ ! -e "$W/.dstack-setup-done" ]; then
  "$RUN_SHELL" -e "$R/dstack/setup.sh" || fail "setup failed"
  touch "$W/.dstack-setup-done"
fi
"$RUN_SHELL" -e "$R/dstack/init.sh" || fail "init failed"
if [ "$RUN_TYPE" = task ]; then
  echo "[dstack] commands" >&2
  set +e
  "$RUN_SHELL" -e "$R/dstack/commands.sh"
  code=$?
  echo "$code" > "$W/.dstack-exit-code"
  echo "[dstack] ended: commands exit $code" > "$W/.dstack-ended"
  cat "$W/.dstack-ended" >&2
  exit 0
fi
exec tail -f /dev/null
