#!/bin/sh
# dstack: every later boot of the instance (cloud-init's per-boot scripts; the first boot has no
# /opt/dstack/status yet, runcmd boots it): re-arms max_duration from the deadline on disk and
# starts the run's container again unless the run ended. See /opt/dstack/boot.sh.
[ -e /opt/dstack/status ] || exit 0
exec /bin/bash /opt/dstack/boot.sh reboot
