#!/bin/sh
# dstack container entry (runs inside the run's container, started by boot.sh).
# Rendered from templates/cloud-init-entry.sh by src/compiler/backends/cloud/cloud-init.ts.
# sshd (key-only) on the container port, waits for the code in /workflow, then setup/init and
# the task's commands (or, for a dev environment, stays up for SSH).
set -e
. /dstack/container.conf
log() { echo "dstack: $*" >&2; }

# sshd, key-only, installed when the image has none.
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server
  elif command -v apk >/dev/null 2>&1; then apk add --no-cache openssh
  elif command -v dnf >/dev/null 2>&1; then dnf install -y openssh-server
  else yum install -y openssh-server; fi
fi
mkdir -p /run/sshd /etc/ssh
ssh-keygen -A >/dev/null 2>&1 || true
# The run's env for SSH sessions too.
mkdir -p /etc/profile.d && cp /dstack/env.sh /etc/profile.d/dstack-env.sh 2>/dev/null || true
/usr/sbin/sshd -p "$CONTAINER_SSH_PORT" -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
  -o PermitRootLogin=prohibit-password -o AuthorizedKeysFile=/dstack/authorized_keys -o PermitUserEnvironment=no

# The code: uploaded over SSH to /workflow by `dstack up`, which touches /workflow/.dstack-uploaded.
waited=0
while [ ! -e /workflow/.dstack-uploaded ] && [ "$waited" -lt "$UPLOAD_TIMEOUT" ]; do sleep 2; waited=$((waited + 2)); done
[ -e /workflow/.dstack-uploaded ] || log "no code uploaded to /workflow after ${UPLOAD_TIMEOUT}s; starting anyway"
cd "$WORKING_DIR" 2>/dev/null || cd /workflow

if [ ! -e /workflow/.dstack-setup-done ]; then
  "$RUN_SHELL" -e /dstack/setup.sh
  touch /workflow/.dstack-setup-done
fi
"$RUN_SHELL" -e /dstack/init.sh
if [ "$RUN_TYPE" = task ]; then
  set +e
  "$RUN_SHELL" -e /dstack/commands.sh
  code=$?
  echo "$code" > /workflow/.dstack-exit-code
  exit "$code"
fi
exec tail -f /dev/null
