#!/usr/bin/env bash
# cernvm build step: the real appliance of one version in one format. Collects the version's package
# set with mmdebstrap (or reuses the verified cached root filesystem of that set), writes a self-booting
# disk and converts it to $VMOPS_FORMAT, next to its package manifest, a SHA256SUMS and a build.json
# (kernel, package count) in $VMOPS_IMAGES_DIR/<product>/<version>/<format>/. See appliance.sh.
set -euo pipefail
here="$(dirname -- "${BASH_SOURCE[0]}")"
source "$here/lib.sh"
source "$here/appliance.sh"

init_format
init_package_set
require_root
set_revision 0
status "building $PRODUCT $VERSION for $FORMAT"
build_image
printf '::artifact %s\n' "$IMAGE_DIR/$ARTIFACT_NAME" "$IMAGE_DIR/$MANIFEST_NAME"
progress 100 "built $ARTIFACT_NAME ($(file_size "$IMAGE_DIR/$ARTIFACT_NAME") bytes): $PACKAGE_COUNT packages, kernel $KERNEL"
