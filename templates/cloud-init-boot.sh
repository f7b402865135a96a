#!/bin/bash
# dstack boot script (runs on the instance, as root, at first boot).
# Rendered from templates/cloud-init-boot.sh by src/compiler/backends/cloud/cloud-init.ts.
# Reads /opt/dstack/run.conf (host only) and starts the run's container from /opt/dstack/container.
set -euo pipefail
# DSTACK_ROOT: a folder standing in for / (tests run this script unprivileged); empty on instances.
R="${DSTACK_ROOT:-}"
exec > >(tee -a "$R/var/log/dstack-boot.log") 2>&1
# shellcheck disable=SC1091
. "$R/opt/dstack/run.conf"
status() { echo "$1" > "$R/opt/dstack/status"; echo "dstack: $1"; }
retry() { local n=0; until "$@"; do n=$((n + 1)); [ "$n" -ge 5 ] && return 1; sleep $((n * 5)); done; }
status booting

# max_duration: enforced by the instance itself, so it holds when no CLI is running.
if [ "${MAX_DURATION_MINUTES:-0}" -gt 0 ]; then
  shutdown -h "+${MAX_DURATION_MINUTES}" "dstack: max_duration of run ${RUN_NAME} reached" || true
fi

# sshd on the host: key-only, root allowed with a key.
mkdir -p "$R/root/.ssh" && chmod 700 "$R/root/.ssh"
touch "$R/root/.ssh/authorized_keys"
grep -qxF "$SSH_PUBLIC_KEY" "$R/root/.ssh/authorized_keys" || echo "$SSH_PUBLIC_KEY" >> "$R/root/.ssh/authorized_keys"
chmod 600 "$R/root/.ssh/authorized_keys"
mkdir -p "$R/etc/ssh/sshd_config.d"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n' > "$R/etc/ssh/sshd_config.d/00-dstack.conf"
systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null || true

# Volumes: wait for the device, format it if blank, mount it on the host.
while IFS='|' read -r devices path; do
  [ -z "$devices" ] && continue
  dev=""
  for _ in $(seq 1 120); do
    for cand in ${devices//,/ }; do if [ -e "$R$cand" ]; then dev="$R$cand"; break; fi; done
    [ -n "$dev" ] && break
    sleep 5
  done
  [ -n "$dev" ] || { status "failed: volume device for $path did not appear ($devices)"; exit 1; }
  blkid "$dev" >/dev/null 2>&1 || mkfs.ext4 -q -L dstack "$dev"
  mkdir -p "$R/dstack/volumes${path}"
  mountpoint -q "$R/dstack/volumes${path}" || mount "$dev" "$R/dstack/volumes${path}"
  touch "$R/etc/fstab"
  grep -q " /dstack/volumes${path} " "$R/etc/fstab" || echo "$dev /dstack/volumes${path} ext4 defaults,nofail 0 2" >> "$R/etc/fstab"
done < "$R/opt/dstack/volumes"

# Docker and, for NVIDIA GPUs, the NVIDIA container toolkit: checked, installed when missing.
status installing
if ! command -v docker >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    retry apt-get update -q && DEBIAN_FRONTEND=noninteractive retry apt-get install -y -q docker.io
  else
    retry yum install -y docker
  fi
  systemctl enable --now docker
fi
if [ "$ACCELERATOR" = nvidia ] && ! command -v nvidia-ctk >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    curl -fsSL https://nvidia.github.io/libnvidia-container/gpgkey | gpg --dearmor --yes -o /usr/share/keyrings/nvidia-container-toolkit-keyring.gpg
    curl -fsSL https://nvidia.github.io/libnvidia-container/stable/deb/nvidia-container-toolkit.list \
      | sed 's#deb https://#deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] https://#g' \
      > /etc/apt/sources.list.d/nvidia-container-toolkit.list
    retry apt-get update -q && DEBIAN_FRONTEND=noninteractive retry apt-get install -y -q nvidia-container-toolkit
  else
    curl -fsSL https://nvidia.github.io/libnvidia-container/stable/rpm/nvidia-container-toolkit.repo > /etc/yum.repos.d/nvidia-container-toolkit.repo
    retry yum install -y nvidia-container-toolkit
  fi
  nvidia-ctk runtime configure --runtime=docker
  systemctl restart docker
fi

# Registry login (registry_auth or the cloud registry of a prebuilt image), then the image.
status pulling
# (each retry pipes the password again: a retried `docker login` must not read an empty stdin)
login() { printf '%s' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USERNAME" --password-stdin ${REGISTRY_SERVER:+"$REGISTRY_SERVER"}; }
if [ -n "${REGISTRY_USERNAME:-}" ]; then retry login; fi
docker image inspect "$IMAGE" >/dev/null 2>&1 || retry docker pull "$IMAGE"

# The run's container: host networking, the run's env, /workflow for the code.
mkdir -p "$R/workflow"
# The entry script replaces the image's ENTRYPOINT (a user image's own would swallow it).
CONTAINER="dstack-run-${RUN_NAME}"
args=(--name "$CONTAINER" --detach --network host --env-file "$R/opt/dstack/run.env" --entrypoint /bin/sh
  -v "$R/workflow:/workflow" -v "$R/opt/dstack/container:/dstack:ro" -w "$WORKING_DIR")
# DSTACK_LISTEN_ADDRESS (set by the test emulator, whose instances share one host): sshd listens there only.
if [ -n "${DSTACK_LISTEN_ADDRESS:-}" ]; then args+=(--env "DSTACK_LISTEN_ADDRESS=$DSTACK_LISTEN_ADDRESS"); fi
if [ "$ACCELERATOR" = nvidia ] && [ "$GPUS" -gt 0 ]; then args+=(--gpus all); fi
if [ "$ACCELERATOR" = tpu ] || [ "$PRIVILEGED" = true ]; then args+=(--privileged); fi
if [ -n "$SHM_SIZE" ]; then args+=(--shm-size "${SHM_SIZE}g"); else args+=(--ipc host); fi
while IFS='|' read -r _ path; do
  if [ -n "$path" ]; then args+=(-v "$R/dstack/volumes${path}:${path}"); fi
done < "$R/opt/dstack/volumes"
while IFS='|' read -r host path optional; do
  [ -z "$host" ] && continue
  if [ -e "$R$host" ] || [ "$optional" != true ]; then mkdir -p "$R$host"; args+=(-v "$R${host}:${path}"); fi
done < "$R/opt/dstack/instance-mounts"
if [ -n "$CONTAINER_USER" ]; then args+=(--user "$CONTAINER_USER"); fi
docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
docker run "${args[@]}" "$IMAGE" /dstack/entry.sh
status running
