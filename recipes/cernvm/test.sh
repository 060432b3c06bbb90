#!/usr/bin/env bash
# cernvm test step: tests the built image of one version in one format. Host-side checks (checksums,
# qemu-img check, the OVA's layout, manifest and descriptor) go to $VMOPS_WORKDIR/host.tap; then the
# image boots headless under QEMU from its own disk with a NoCloud seed, and the guest's self-test
# (TAP over the serial console: kernel, root read-write, os-release, version file, package manifest,
# cloud-init and its user-data marker) and the power-off go to $VMOPS_WORKDIR/boot.tap (boot-test.ts).
# Exits 1 when a check failed, after both reports are written.
# VMOPS_BOOT_TIMEOUT: seconds a boot may take (default 420, TCG on a busy host).
set -euo pipefail
here="$(dirname -- "${BASH_SOURCE[0]}")"
source "$here/lib.sh"
source "$here/appliance.sh"

init_format
set_revision "${VMOPS_REVISION:-0}"
test_image "$VMOPS_WORKDIR"
