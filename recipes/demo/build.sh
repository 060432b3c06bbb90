#!/usr/bin/env bash
# demo (stand-in) build step: makes the disk image of one version in one format.
#
# Builds a small root tree in the job's workdir, makes a raw ext4 image of it (mkfs.ext4 -d, files
# owned by root through fakeroot), converts it with qemu-img to $VMOPS_FORMAT (vmware: a
# streamOptimized VMDK inside an OVA with its OVF descriptor and manifest) and writes it with a
# SHA256SUMS and a build.json to $VMOPS_IMAGES_DIR/<product>/<version>/<format>/, which appears
# whole or not at all (built under a temporary name, then renamed).
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/ovf.sh"

init_format
work="$VMOPS_WORKDIR/build-$FORMAT"
parent="$(dirname -- "$IMAGE_DIR")"
staging="$parent/.$FORMAT.tmp.$$"
old="$parent/.$FORMAT.old.$$"
trap 'rm -rf -- "$staging" "$old"' EXIT

# The root tree: release files and a few MB of content so the conversions have data to move.
make_tree() {
  local tree="$1"
  mkdir -p -- "$tree"/{etc,usr/share/cernvm,usr/lib/cernvm,var/log,tmp}
  cat >"$tree/etc/os-release" <<EOF
NAME="CernVM"
VERSION="$VERSION"
ID=cernvm
VERSION_ID="$VERSION"
PRETTY_NAME="CernVM $VERSION"
HOME_URL="https://cernvm.cern.ch/"
EOF
  printf 'CernVM release %s\n' "$VERSION" >"$tree/etc/cernvm-release"
  printf 'cernvm\n' >"$tree/etc/hostname"
  printf 'built by vmops job %s for %s, format %s\n' "${VMOPS_JOB_ID:-?}" "${VMOPS_REQUESTED_BY:-?}" \
    "$FORMAT" >"$tree/usr/share/cernvm/build-info"
  seq -f 'package-%06g 1.0-1 noarch' 1 40000 >"$tree/usr/share/cernvm/packages.txt"
  head -c 2097152 /dev/urandom >"$tree/usr/lib/cernvm/payload.bin"
}

# make_raw <tree> <image>: an ext4 filesystem image of the tree, every file owned by root (as root,
# or through fakeroot).
make_raw() {
  if [[ "$(id -u)" == 0 ]]; then
    chown -R 0:0 -- "$1"
    mkfs.ext4 -q -L cernvm-root -d "$1" -F "$2" "${DISK_SIZE_MB}M"
  elif ! command -v fakeroot >/dev/null; then
    printf 'warning: fakeroot is not installed: the files in the image keep uid %s\n' "$(id -u)" >&2
    mkfs.ext4 -q -L cernvm-root -d "$1" -F "$2" "${DISK_SIZE_MB}M"
  else
    fakeroot -- bash -c 'chown -R 0:0 -- "$1" && mkfs.ext4 -q -L cernvm-root -d "$1" -F "$2" "$3"' \
      make-raw "$1" "$2" "${DISK_SIZE_MB}M"
  fi
}

# make_ova <raw image> <ova>: streamOptimized VMDK + OVF + manifest, tarred .ovf first, then .mf.
make_ova() {
  local dir="$work/ova" ovf="$BASENAME.ovf" mf="$BASENAME.mf"
  mkdir -p -- "$dir"
  # A VMDK remembers the name it was written under: write it under its final name.
  qemu-img convert -f raw "${CONVERT[@]}" -- "$1" "$dir/$VMDK_NAME"
  write_ovf "$dir/$ovf" "$dir/$VMDK_NAME" "$((DISK_SIZE_MB * 1024 * 1024))" lsilogic
  printf 'SHA256(%s)= %s\n' "$ovf" "$(sha256 "$dir/$ovf")" "$VMDK_NAME" "$(sha256 "$dir/$VMDK_NAME")" >"$dir/$mf"
  tar --format=ustar --owner=0 --group=0 --numeric-owner -cf "$2" -C "$dir" -- "$ovf" "$mf" "$VMDK_NAME"
}

# write_build_json <file> <artifact>…
write_build_json() {
  local out="$1" file
  shift
  local args=()
  for file in "$@"; do args+=("$(basename -- "$file")" "$(file_size "$file")" "$(sha256 "$file")"); done
  python3 - "$PRODUCT" "$VERSION" "$FORMAT" "$(now)" "${VMOPS_JOB_ID:-}" "${args[@]}" >"$out" <<'PY'
import json, sys
product, version, fmt, built_at, job, *rest = sys.argv[1:]
files = [{"name": rest[i], "size": int(rest[i + 1]), "sha256": rest[i + 2]} for i in range(0, len(rest), 3)]
doc = {"product": product, "version": version, "format": fmt, "files": files, "builtAt": built_at, "job": job or None}
print(json.dumps(doc, indent=2))
PY
}

status "building $PRODUCT $VERSION for $FORMAT ($DISK_FORMAT)"
progress 5 "making the root tree"
rm -rf -- "$work"
mkdir -p -- "$work" "$staging"
make_tree "$work/tree"

progress 25 "making the ext4 filesystem (${DISK_SIZE_MB} MB)"
make_raw "$work/tree" "$work/disk.raw"

progress 50 "converting to $DISK_FORMAT"
artifact="$staging/$ARTIFACT_NAME"
if [[ "$FORMAT" == vmware ]]; then
  make_ova "$work/disk.raw" "$artifact"
else
  qemu-img convert -f raw "${CONVERT[@]}" -- "$work/disk.raw" "$artifact"
fi

progress 80 "writing checksums"
(cd -- "$staging" && sha256sum -- "$ARTIFACT_NAME") >"$staging/SHA256SUMS"
write_build_json "$staging/build.json" "$artifact"

progress 95 "moving the image into place"
if [[ -e "$IMAGE_DIR" ]]; then mv -T -- "$IMAGE_DIR" "$old"; fi
mv -T -- "$staging" "$IMAGE_DIR" || die 1 "could not move the new image to $IMAGE_DIR (another build of it running?)"
rm -rf -- "$old" "$work"

printf '::artifact %s\n' "$IMAGE_DIR/$ARTIFACT_NAME"
progress 100 "built $ARTIFACT_NAME ($(file_size "$IMAGE_DIR/$ARTIFACT_NAME") bytes)"
