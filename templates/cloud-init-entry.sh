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

# The code: uploaded over SSH to /workflow by `dstack up`, which touches /workflow/.dstack-uploaded.
W="$R/workflow"
waited=0
while [ ! -e "$W/.dstack-uploaded" ] && [ "$waited" -lt "$UPLOAD_TIMEOUT" ]; do sleep 2; waited=$((waited + 2)); done
[ -e "$W/.dstack-uploaded" ] || log "no code uploaded to /workflow after ${UPLOAD_TIMEOUT}s; starting anyway"
cd "$R$WORKING_DIR" 2>/dev/null || cd "$W"

# The same markers as the local start script (dstack reads them: src/runs/observe.ts, run-log.ts).
fail() { printf '[dstack] error: %s\n' "$1" >&2; exit 97; }
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
  echo "[dstack] ended: commands exit $code" >&2
  exit "$code"
fi
exec tail -f /dev/null
