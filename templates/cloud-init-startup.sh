#!/bin/bash
# dstack run {{RUN_NAME}} (project {{PROJECT}}, backend {{BACKEND}}): startup script for machines
# whose image has no cloud-init (GCP TPU VMs). Rendered from templates/cloud-init-startup.sh by
# src/compiler/backends/cloud/cloud-init.ts; writes the same files cloud-init would, then boots.
set -euo pipefail
if [ -e /opt/dstack/status ]; then
  # A later boot of the machine: the files are in place; max_duration re-armed, the run's container started again.
  exec bash /opt/dstack/boot.sh reboot
fi
umask 077
{{WRITE_FILES}}
exec bash /opt/dstack/boot.sh
