#!/usr/bin/env bash
# Stops the plugin tests' private reference dockerd (test/helpers/private-dockerd.ts) and wipes
# its state, so that the next test run starts it afresh. dockerd leaves its data root mounted on
# itself, and network namespaces mounted below its exec root, after it stops: those are unmounted
# first (deepest first), else removing the folders fails with "Device or resource busy".
#
#   bash test/helpers/reset-private-dockerd.sh
#
# Environment: PLUGIN_REF_DOCKERD_DIR (default /tmp/dockerd-plugin), PLUGIN_REF_SWARM_PORT (2477).
set -euo pipefail

dir=${PLUGIN_REF_DOCKERD_DIR:-/tmp/dockerd-plugin}
harness="$(dirname "$0")/../../../shared/conformance/start-reference-dockerd.sh"
[ -d "$dir" ] || exit 0

if [ -f "$harness" ]; then
  REF_DOCKERD_DIR=$dir REF_SWARM_PORT=${PLUGIN_REF_SWARM_PORT:-2477} bash "$harness" --stop
fi
# Mount points below $dir, deepest first (/proc/mounts escapes a space in a path as \040).
awk -v prefix="$dir/" 'index($2, prefix) == 1 { print length($2) "\t" $2 }' /proc/mounts |
  sort -rn | cut -f2- | while read -r mountpoint; do
    umount -l "$(printf '%b' "$mountpoint")"
  done
rm -rf "$dir/data" "$dir/exec"
