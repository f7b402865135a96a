#!/bin/bash
# dstack boot script (runs on the instance, as root).
# Rendered from templates/cloud-init-boot.sh by src/compiler/backends/cloud/cloud-init.ts.
# Reads /opt/dstack/run.conf (host only) and starts the run's container from /opt/dstack/container.
#   boot.sh          the first boot (cloud-init's runcmd, or the startup script)
#   boot.sh reboot   every later boot (cloud-init's per-boot script): re-arms max_duration from
#                    the deadline on disk and starts the run's container again unless the run ended
#   boot.sh expire   the deadline (Azure past 24 h: a systemd timer): the VM deallocates itself
set -euo pipefail
# DSTACK_ROOT: a folder standing in for / (tests run this script unprivileged); empty on instances.
R="${DSTACK_ROOT:-}"
MODE="${1:-boot}"
exec > >(tee -a "$R/var/log/dstack-boot.log") 2>&1
# shellcheck disable=SC1091
. "$R/opt/dstack/run.conf"
status() { echo "$1" > "$R/opt/dstack/status"; echo "dstack: $1"; }
retry() { local n=0; until "$@"; do n=$((n + 1)); [ "$n" -ge 5 ] && return 1; sleep $((n * 5)); done; }
CONTAINER="dstack-run-${RUN_NAME}"

# max_duration: enforced by the instance itself, so it holds when no CLI is running, from an
# absolute deadline (DEADLINE, epoch seconds, in run.conf on disk) armed again at every boot.
# Azure past 24 h (no daily auto-shutdown schedule fits): the VM deallocates itself through
# ARM with its managed identity (a role on the VM only); an OS shutdown alone would keep it billed.
azure_deallocate() {
  local token id
  token=$(curl -sf -H Metadata:true "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F" |
    sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
  id=$(curl -sf -H Metadata:true "http://169.254.169.254/metadata/instance/compute/resourceId?api-version=2021-02-01&format=text")
  [ -n "$token" ] && [ -n "$id" ] || return 1
  curl -sf -X POST -H "Authorization: Bearer $token" -H "Content-Length: 0" "https://management.azure.com${id}/deallocate?api-version=2024-07-01"
}
expire() {
  echo "dstack: max_duration of run ${RUN_NAME} reached"
  if [ "${AZURE_DEALLOCATE:-}" = true ] && retry azure_deallocate; then return 0; fi
  shutdown -h now "dstack: max_duration of run ${RUN_NAME} reached" || true
}
arm_deadline() {
  [ -n "${DEADLINE:-}" ] || return 0
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -le 0 ]; then expire; return 0; fi
  local minutes=$(((left + 59) / 60))
  if [ "${AZURE_DEALLOCATE:-}" = true ]; then
    systemctl stop dstack-deadline.timer >/dev/null 2>&1 || true
    systemd-run --unit dstack-deadline --on-active="${left}s" /bin/bash /opt/dstack/boot.sh expire || true
    # should the deallocation fail, the OS stops 10 minutes later (at least the GPUs are released)
    minutes=$((minutes + 10))
  fi
  shutdown -h "+${minutes}" "dstack: max_duration of run ${RUN_NAME} reached" || true
}
if [ "$MODE" = expire ]; then expire; exit 0; fi
if [ "$MODE" = reboot ]; then
  # A later boot: the files, the volumes (fstab) and the container are in place.
  arm_deadline
  if [ -e "$R/workflow/.dstack-ended" ]; then status ended; exit 0; fi
  # The container's restart policy brings it back with Docker; started here should it not have.
  if docker container inspect "$CONTAINER" >/dev/null 2>&1; then
    [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER")" = true ] || retry docker start "$CONTAINER"
    status running
  fi
  exit 0
fi
status booting
arm_deadline

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
# NVadsA10 v5 (Azure): the GRID driver comes from the NVIDIA GPU driver extension, which may
# still be installing it (and reboot the VM): wait for the driver before Docker needs it.
if [ "${WAIT_GPU_DRIVER:-}" = true ]; then
  status "waiting for the GPU driver"
  for _ in $(seq 1 120); do nvidia-smi >/dev/null 2>&1 && break; sleep 10; done
  nvidia-smi >/dev/null 2>&1 || { status "failed: no NVIDIA driver after 20 minutes (the GPU driver extension)"; exit 1; }
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

# Registry login, then the image: registry_auth's password, or the instance's own identity for
# the cloud registry of a prebuilt image (AWS: the instance profile's ECR read; GCP: the VM's
# service account, Artifact Registry reader), so that no deployer token is in the user data.
status pulling
registry_password() {
  case "${REGISTRY_VIA:-password}" in
    aws)
      command -v aws >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q awscli >/dev/null || snap install aws-cli --classic; }
      aws ecr get-login-password --region "$REGISTRY_REGION" ;;
    gcp)
      curl -sf -H 'Metadata-Flavor: Google' http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token |
        sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p' ;;
    *) printf '%s' "$REGISTRY_PASSWORD" ;;
  esac
}
# (each retry fetches and pipes the password again: a retried `docker login` must not read an empty stdin)
login() {
  local password
  password=$(registry_password) && [ -n "$password" ] || return 1
  printf '%s' "$password" | docker login --username "$REGISTRY_USERNAME" --password-stdin ${REGISTRY_SERVER:+"$REGISTRY_SERVER"}
}
if [ -n "${REGISTRY_USERNAME:-}" ]; then retry login; fi
docker image inspect "$IMAGE" >/dev/null 2>&1 || retry docker pull "$IMAGE"

# The run's container: host networking, the run's env, /workflow for the code.
mkdir -p "$R/workflow"
# The entry script replaces the image's ENTRYPOINT (a user image's own would swallow it).
# Restart policy: a crash or a reboot (Docker comes back with the VM) restarts the run; a run that
# ended exits 0 (its end is in /workflow/.dstack-ended) and stays ended.
args=(--name "$CONTAINER" --detach --restart on-failure --network host --env-file "$R/opt/dstack/run.env" --entrypoint /bin/sh
  -v "$R/workflow:/workflow" -v "$R/opt/dstack/container:/dstack:ro" -w "$WORKING_DIR")
# DSTACK_LISTEN_ADDRESS (set by the test emulator, whose instances share one host): sshd listens there only.
if [ -n "${DSTACK_LISTEN_ADDRESS:-}" ]; then args+=(--env "DSTACK_LISTEN_ADDRESS=$DSTACK_LISTEN_ADDRESS"); fi
if [ "$ACCELERATOR" = nvidia ] && [ "$GPUS" -gt 0 ]; then args+=(--gpus all); fi
# AMD GPUs (ROCm): the devices, not --gpus
if [ "$ACCELERATOR" = amd ] && [ "$GPUS" -gt 0 ]; then args+=(--device /dev/kfd --device /dev/dri --group-add video --security-opt seccomp=unconfined); fi
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
