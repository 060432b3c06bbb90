# The real cernvm appliance: functions of build.sh, test.sh and update.sh (sourced after lib.sh).
#
# A version is a package set (config: products.cernvm.versions, handed to the steps by the worker as
# VMOPS_SUITE, VMOPS_PACKAGES, VMOPS_PINS, VMOPS_SNAPSHOT, VMOPS_MIRROR). Its root filesystem is
# collected with mmdebstrap once and cached on the build host under a key made of everything that goes
# into it; every format is then written from that cache: a self-booting MBR disk (syslinux on a FAT boot
# partition, ext4 root with a label) made without loop devices or mounts, converted with qemu-img.
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/ovf.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/tap-check.sh"

# Where root filesystems are cached, shared by every job on this host and kept between runs.
rootfs_cache_dir() {
  if [[ -n "${VMOPS_ROOTFS_CACHE:-}" ]]; then
    printf '%s\n' "$VMOPS_ROOTFS_CACHE"
  elif [[ "$(id -u)" == 0 ]]; then
    printf '/var/cache/vmops/rootfs\n'
  else
    printf '%s/vmops/rootfs\n' "${XDG_CACHE_HOME:-$HOME/.cache}"
  fi
}

GUEST_DIR="$(dirname -- "${BASH_SOURCE[0]}")/guest"
ROOT_LABEL=cernvm-root
BOOT_MIB=64

# require_root: mmdebstrap --mode=root chroots and bind-mounts; the rootfs keeps its owners.
require_root() {
  [[ "$(id -u)" == 0 ]] && return 0
  die 2 "the cernvm recipe needs root on the build host: mmdebstrap --mode=root collects the packages" \
    "(chroot, bind mounts) and the root filesystem is unpacked with its owners. Run the worker as root" \
    "(e.g. a build host's systemd service), or build the demo product instead."
}

# Checks the package set the worker passed, and sets SUITE, PACKAGES (array, pins applied), NAMES.
init_package_set() {
  [[ -n "${VMOPS_SUITE:-}" ]] ||
    die 2 "$PRODUCT $VERSION has no package set: add products.$PRODUCT.versions.\"$VERSION\" (suite, packages) to the config"
  [[ "$VMOPS_SUITE" =~ ^[a-z][a-z0-9-]{0,39}$ ]] || die 2 "refusing suite '$VMOPS_SUITE'"
  SUITE="$VMOPS_SUITE"
  local name
  IFS=, read -r -a NAMES <<<"${VMOPS_PACKAGES:-}"
  for name in "${NAMES[@]}"; do
    [[ "$name" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die 2 "refusing package name '$name'"
  done
  declare -gA PIN=()
  local pin
  IFS=, read -r -a pins <<<"${VMOPS_PINS:-}"
  for pin in "${pins[@]}"; do
    [[ "$pin" =~ ^([a-z0-9][a-z0-9+.-]+)=([A-Za-z0-9.+~:-]+)$ ]] || die 2 "refusing pin '$pin'"
    PIN["${BASH_REMATCH[1]}"]="${BASH_REMATCH[2]}"
  done
  PACKAGES=()
  for name in "${NAMES[@]}"; do
    if [[ -n "${PIN[$name]:-}" ]]; then PACKAGES+=("$name=${PIN[$name]}"); else PACKAGES+=("$name"); fi
  done
  [[ -z "${VMOPS_SNAPSHOT:-}" || "$VMOPS_SNAPSHOT" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die 2 "refusing snapshot '$VMOPS_SNAPSHOT'"
  [[ -z "${VMOPS_MIRROR:-}" || "$VMOPS_MIRROR" =~ ^https?://[A-Za-z0-9._:/~+-]+$ ]] || die 2 "refusing mirror '$VMOPS_MIRROR'"
}

# write_sources <file>: the apt sources mmdebstrap collects from. The version's mirror or snapshot when
# the config names one; otherwise the build host's own apt sources (deb822), with the host's suite
# names changed to the version's.
write_sources() {
  local out="$1" host_suite
  if [[ -n "${VMOPS_SNAPSHOT:-}" ]]; then
    printf 'deb [check-valid-until=no] http://snapshot.debian.org/archive/debian/%s %s main\n' "$VMOPS_SNAPSHOT" "$SUITE" >"$out"
  elif [[ -n "${VMOPS_MIRROR:-}" ]]; then
    printf 'deb %s %s main\n' "$VMOPS_MIRROR" "$SUITE" >"$out"
  elif [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    host_suite="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
    if [[ -n "$host_suite" && "$host_suite" != "$SUITE" ]]; then
      sed -E "/^Suites:/ s/(^|[ :])$host_suite(-[a-z]+)?/\\1$SUITE\\2/g" /etc/apt/sources.list.d/debian.sources >"$out"
    else
      cp -- /etc/apt/sources.list.d/debian.sources "$out"
    fi
  elif [[ -s /etc/apt/sources.list ]]; then
    grep -E '^deb ' /etc/apt/sources.list >"$out"
  else
    die 2 "the build host has no apt sources (/etc/apt/sources.list.d/debian.sources): name a mirror in the config (products.$PRODUCT.versions.\"$VERSION\".mirror)"
  fi
}

# The cache key: everything that goes into the cached root filesystem (suite, packages and pins, the
# sources, this recipe's collection code). The guest files are added per disk (make_bootable_disk). Sets ROOTFS_KEY and ROOTFS_DIR.
rootfs_key() {
  local sources="$1"
  ROOTFS_KEY="$({
    printf 'suite %s\n' "$SUITE"
    printf 'package %s\n' "${PACKAGES[@]}" | LC_ALL=C sort
    printf 'snapshot %s\nmirror %s\n' "${VMOPS_SNAPSHOT:-}" "${VMOPS_MIRROR:-}"
    cat -- "$sources"
    declare -f collect_rootfs
  } | sha256sum | cut -c1-32)"
  ROOTFS_DIR="$(rootfs_cache_dir)/$ROOTFS_KEY"
}

# verify_cached_rootfs: the cached tarball matches the checksum in its manifest.json.
verify_cached_rootfs() {
  [[ -f "$ROOTFS_DIR/manifest.json" && -f "$ROOTFS_DIR/rootfs.tar" && -f "$ROOTFS_DIR/packages.tsv" ]] || return 1
  local want got
  want="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$ROOTFS_DIR/manifest.json")" || return 1
  got="$(sha256 "$ROOTFS_DIR/rootfs.tar")"
  [[ "$want" == "$got" ]] && return 0
  printf 'cached root filesystem %s does not match its manifest (sha256 %s, want %s): collecting it again\n' \
    "$ROOTFS_KEY" "$got" "$want" >&2
  return 1
}

# collect_rootfs <sources> <out dir>: mmdebstrap into <out dir>/rootfs.tar with the package list, the
# kernel version and a manifest. A resolver error is printed to stderr with the lines apt gave.
collect_rootfs() {
  local sources="$1" out="$2" log="$2/mmdebstrap.log" include pins='' pin
  # Names only on the command line; exact versions go to apt as pins (priority 1001, so an older
  # version is taken even when a newer one is there), which apt honours for dependencies too.
  include="$(printf '%s\n' "${PACKAGES[@]}" | sed 's/=.*//' | paste -sd, -)"
  for pin in "${PACKAGES[@]}"; do
    [[ "$pin" == *=* ]] || continue
    pins+="Package: ${pin%%=*}"$'\n'"Pin: version ${pin#*=}"$'\n'"Pin-Priority: 1001"$'\n\n'
  done
  printf '%s' "$pins" >"$out/pins.pref"
  if ! mmdebstrap --variant=minbase --mode=root --format=tar \
    --include="$include" \
    --setup-hook="mkdir -p \"\$1/etc/apt/preferences.d\"; cp $(printf '%q' "$out/pins.pref") \"\$1/etc/apt/preferences.d/vmops-pins\"" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=list\n" > "$1/etc/initramfs-tools/conf.d/vmops.conf"; printf "virtio_pci\nvirtio_blk\nvirtio_scsi\nvirtio_net\next4\nvfat\nisofs\nsr_mod\nsd_mod\nahci\nata_piix\nnvme\nvmw_pvscsi\nmptspi\nhv_vmbus\nhv_storvsc\nxen_blkfront\n" >> "$1/etc/initramfs-tools/modules"' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook='printf "auto lo\niface lo inet loopback\n" > "$1/etc/network/interfaces"' \
    --customize-hook='rm -f "$1"/etc/apt/sources.list.d/0000* "$1/etc/apt/preferences.d/vmops-pins"' \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f='\${Package}\\t\${Version}\\t\${Architecture}\\n' | LC_ALL=C sort > \"$out/packages.tsv\"" \
    --customize-hook="ls \"\$1\"/boot/ > \"$out/boot.list\"" \
    "$SUITE" "$out/rootfs.tar" "$sources" >"$log" 2>&1; then
    resolver_message "$log" >&2
    return 1
  fi
  KERNEL="$(sed -n 's/^vmlinuz-//p' "$out/boot.list" | sort -V | tail -n1)"
  [[ -n "$KERNEL" ]] || { printf 'the root filesystem has no kernel (/boot/vmlinuz-*): add linux-image-cloud-amd64 to the packages\n' >&2; return 1; }
  python3 - "$out/manifest.json" "$(sha256 "$out/rootfs.tar")" "$KERNEL" "$SUITE" "$(wc -l <"$out/packages.tsv")" \
    "$(now)" "${PACKAGES[@]}" <<'PY'
import json, sys
path, sha, kernel, suite, count, at, *packages = sys.argv[1:]
doc = {"sha256": sha, "kernel": kernel, "suite": suite, "packages": int(count), "collectedAt": at, "asked": packages}
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
PY
}

# resolver_message <log>: the lines of an mmdebstrap log that say why it failed (apt's E:/error lines
# and what an unmet dependency named), or its last lines.
resolver_message() {
  local lines
  lines="$(grep -E '^(E: |W: Unable|error: |  [a-z0-9.+-]+ : Depends)|Unable to locate package|has no installation candidate|not have a Release file|Version .* was not found' -- "$1" |
    grep -v 'apt-get --yes' | awk '!seen[$0]++' | head -n 6)"
  [[ -n "$lines" ]] || lines="$(tail -n 6 -- "$1")"
  printf '%s\n' "$lines"
}

# clean_stale_collections <cache dir>: removes the .<key>.tmp.<pid> folders of collections whose process
# is gone (a build killed mid-collection leaves one behind, hundreds of MiB). A folder of a live process is
# kept: its collection is still running. (/proc, not kill -0: that fails for another user's process.)
clean_stale_collections() {
  local path pid
  for path in "$1"/.*.tmp.*; do
    [[ -d "$path" && ! -L "$path" ]] || continue
    pid="${path##*.tmp.}"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    [[ -d "/proc/$pid" ]] && continue
    rm -rf --one-file-system -- "$path"
    printf 'removed the unfinished collection %s: its process %s is gone\n' "${path##*/}" "$pid"
  done
}

# ensure_rootfs [fresh]: a verified root filesystem of the package set in ROOTFS_DIR (collected now
# when it is not cached, or when `fresh`). Only a complete collection is moved into the cache.
# Sets KERNEL and PACKAGE_COUNT.
ensure_rootfs() {
  local fresh="${1:-}" cache sources tmp
  cache="$(rootfs_cache_dir)"
  mkdir -p -- "$cache"
  clean_stale_collections "$cache"
  sources="$VMOPS_WORKDIR/apt.sources"
  write_sources "$sources"
  rootfs_key "$sources"
  exec {CACHE_FD}>>"$cache/$ROOTFS_KEY.lock"
  flock -x "$CACHE_FD" # one collection per key at a time; the others wait and reuse it
  if [[ -z "$fresh" ]] && verify_cached_rootfs; then
    status "reusing the cached root filesystem $ROOTFS_KEY ($(json_value "$ROOTFS_DIR/manifest.json" packages) packages, verified)"
    printf 'rootfs cache hit: %s (sha256 verified)\n' "$ROOTFS_DIR"
  else
    require_root
    command -v mmdebstrap >/dev/null || die 2 "mmdebstrap is not installed on the build host (apt-get install mmdebstrap)"
    status "collecting ${#PACKAGES[@]} packages and their dependencies from $SUITE with mmdebstrap"
    printf 'rootfs cache miss: collecting %s into %s\n' "$ROOTFS_KEY" "$ROOTFS_DIR"
    tmp="$cache/.$ROOTFS_KEY.tmp.$$"
    rm -rf -- "$tmp"
    mkdir -p -- "$tmp"
    if ! collect_rootfs "$sources" "$tmp" 2>"$VMOPS_WORKDIR/resolver.txt"; then
      cat -- "$VMOPS_WORKDIR/resolver.txt" >&2
      rm -rf -- "$tmp"
      { printf 'mmdebstrap could not collect the packages of %s %s (%s): ' "$PRODUCT" "$VERSION" "$SUITE"
        tr '\n' ' ' <"$VMOPS_WORKDIR/resolver.txt"; printf '\n'; } >"$VMOPS_WORKDIR/failure.txt"
      printf '::artifact %s\n' "$VMOPS_WORKDIR/failure.txt"
      die 1 "mmdebstrap failed; nothing was cached"
    fi
    rm -rf -- "$ROOTFS_DIR"
    mv -T -- "$tmp" "$ROOTFS_DIR"
  fi
  KERNEL="$(json_value "$ROOTFS_DIR/manifest.json" kernel)"
  PACKAGE_COUNT="$(json_value "$ROOTFS_DIR/manifest.json" packages)"
  # Shared from here until the tarball is unpacked (make_bootable_disk): an `update` that collects the
  # same set again waits before it replaces the entry.
  flock -s "$CACHE_FD"
}

json_value() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# make_bootable_disk <out raw>: unpacks the cached rootfs, adds the version's files, and writes an MBR
# disk: syslinux mbr.bin | FAT16 boot partition (syslinux, kernel, initrd) | ext4 root (label
# cernvm-root). No loop device, no mount. VMOPS_CERNVM_OMIT_KERNEL=1 leaves the kernel out (a test of
# the boot test).
make_bootable_disk() {
  local out="$1" tree="$VMOPS_WORKDIR/tree" used root_mib total
  rm -rf -- "$tree"
  mkdir -p -- "$tree"
  tar -xf "$ROOTFS_DIR/rootfs.tar" -C "$tree" --numeric-owner
  flock -u "$CACHE_FD"
  rm -f -- "$tree/etc/os-release"
  cat >"$tree/etc/os-release" <<EOF
NAME="CernVM"
VERSION="$VERSION"
ID=cernvm
ID_LIKE=debian
VERSION_ID="$VERSION"
VERSION_CODENAME=$SUITE
PRETTY_NAME="CernVM $VERSION (Debian $SUITE)"
HOME_URL="https://cernvm.cern.ch/"
EOF
  printf 'CernVM release %s\n' "$VERSION" >"$tree/etc/cernvm-release"
  install -D -m 0755 -- "$GUEST_DIR/vmops-selftest" "$tree/usr/local/sbin/vmops-selftest"
  install -D -m 0644 -- "$GUEST_DIR/vmops-selftest.service" "$tree/etc/systemd/system/vmops-selftest.service"
  mkdir -p -- "$tree/etc/systemd/system/multi-user.target.wants"
  ln -sf ../vmops-selftest.service "$tree/etc/systemd/system/multi-user.target.wants/vmops-selftest.service"
  if [[ -d "$tree/etc/cloud" ]]; then
    install -D -m 0644 -- "$GUEST_DIR/90-vmops-datasource.cfg" "$tree/etc/cloud/cloud.cfg.d/90-vmops-datasource.cfg"
  fi
  printf 'cernvm\n' >"$tree/etc/hostname"
  printf 'LABEL=%s / ext4 defaults 0 1\n' "$ROOT_LABEL" >"$tree/etc/fstab"
  : >"$tree/etc/machine-id"
  used="$(du -s --block-size=1M -- "$tree" | cut -f1)"
  root_mib=$((used * 125 / 100 + 128))
  local fat="$VMOPS_WORKDIR/boot.fat" ext="$VMOPS_WORKDIR/root.ext4" cfg="$VMOPS_WORKDIR/syslinux.cfg"
  rm -f -- "$fat" "$ext" "$out"
  mkfs.vfat -n CERNVMBOOT -C "$fat" $((BOOT_MIB * 1024)) >/dev/null
  syslinux --install "$fat"
  cat >"$cfg" <<EOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=$ROOT_LABEL rw console=tty0 console=ttyS0,115200 loglevel=4 panic=-1
EOF
  mcopy -i "$fat" "$cfg" ::/syslinux.cfg
  if [[ "${VMOPS_CERNVM_OMIT_KERNEL:-}" == 1 ]]; then
    printf 'VMOPS_CERNVM_OMIT_KERNEL=1: the boot partition gets no kernel\n' >&2
  else
    mcopy -i "$fat" "$tree/boot/vmlinuz-$KERNEL" ::/vmlinuz
  fi
  mcopy -i "$fat" "$tree/boot/initrd.img-$KERNEL" ::/initrd.img
  truncate -s "${root_mib}M" "$ext"
  mkfs.ext4 -q -F -L "$ROOT_LABEL" -E root_owner=0:0 -d "$tree" "$ext"
  rm -rf -- "$tree"
  total=$((1 + BOOT_MIB + root_mib + 1))
  truncate -s "${total}M" "$out"
  sfdisk -q "$out" <<PT
label: dos
start=1MiB, size=${BOOT_MIB}MiB, type=e, bootable
start=$((1 + BOOT_MIB))MiB, size=${root_mib}MiB, type=83
PT
  dd if="$fat" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
  dd if="$ext" of="$out" bs=1M seek=$((1 + BOOT_MIB)) conv=notrunc,sparse status=none
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$out" bs=440 count=1 conv=notrunc status=none
  rm -f -- "$fat" "$ext" "$cfg"
  DISK_BYTES="$(file_size "$out")"
}

# make_ova <raw disk> <ova>: streamOptimized VMDK + OVF + manifest, tarred .ovf first, then .mf.
make_ova() {
  local dir="$VMOPS_WORKDIR/ova" ovf="$BASENAME.ovf" mf="$BASENAME.mf"
  rm -rf -- "$dir"
  mkdir -p -- "$dir"
  # A VMDK remembers the name it was written under: write it under its final name.
  qemu-img convert -f raw -O vmdk -o subformat=streamOptimized -- "$1" "$dir/$VMDK_NAME"
  write_ovf "$dir/$ovf" "$dir/$VMDK_NAME" "$DISK_BYTES" VirtualSCSI
  printf 'SHA256(%s)= %s\n' "$ovf" "$(sha256 "$dir/$ovf")" "$VMDK_NAME" "$(sha256 "$dir/$VMDK_NAME")" >"$dir/$mf"
  tar --format=ustar --owner=0 --group=0 --numeric-owner -cf "$2" -C "$dir" -- "$ovf" "$mf" "$VMDK_NAME"
  rm -rf -- "$dir"
}

# convert_disk <raw disk> <artifact>: the format's file; compressed where the format allows it
# (qcow2 with zlib clusters, streamOptimized VMDK); VDI and VHDX are sparse, raw stays raw.
convert_disk() {
  case "$FORMAT" in
    kvm) qemu-img convert -f raw -O qcow2 -c -- "$1" "$2" ;;
    vmware) make_ova "$1" "$2" ;;
    virtualbox) qemu-img convert -f raw -O vdi -- "$1" "$2" ;;
    hyperv) qemu-img convert -f raw -O vhdx -o subformat=dynamic -- "$1" "$2" ;;
    xen | ec2) cp --sparse=always -- "$1" "$2" ;;
  esac
}

# set_revision <n>: names and places the files of revision n of the version (0: the first build).
set_revision() {
  REVISION="$1"
  if ((REVISION > 0)); then
    BASENAME="$PRODUCT-$VERSION-r$REVISION-$FORMAT"
    IMAGE_DIR="$VMOPS_IMAGES_DIR/$PRODUCT/$VERSION/r$REVISION/$FORMAT"
  else
    BASENAME="$PRODUCT-$VERSION-$FORMAT"
    IMAGE_DIR="$VMOPS_IMAGES_DIR/$PRODUCT/$VERSION/$FORMAT"
  fi
  ARTIFACT_NAME="$BASENAME.$EXT"
  VMDK_NAME="$BASENAME-disk1.vmdk"
  MANIFEST_NAME="$BASENAME.packages.tsv"
}

# build_image [fresh]: builds FORMAT of the version (revision REVISION) into IMAGE_DIR, which appears
# whole or not at all; `fresh` collects the packages again instead of using the cache.
build_image() {
  local fresh="${1:-}" parent staging old raw started
  parent="$(dirname -- "$IMAGE_DIR")"
  staging="$parent/.$FORMAT.tmp.$$"
  old="$parent/.$FORMAT.old.$$"
  # (the paths are expanded now: the trap runs after this function's locals are gone)
  # shellcheck disable=SC2064
  trap "rm -rf -- $(printf '%q ' "$staging" "$old" "$VMOPS_WORKDIR/tree" "$VMOPS_WORKDIR/disk.raw")" EXIT
  started=$SECONDS
  progress 5 "root filesystem of $PRODUCT $VERSION ($SUITE, ${#PACKAGES[@]} packages asked for)"
  ensure_rootfs "$fresh"
  progress 40 "collected $PACKAGE_COUNT packages (kernel $KERNEL): writing the self-booting disk"
  raw="$VMOPS_WORKDIR/disk.raw"
  make_bootable_disk "$raw"
  local disk_seconds=$((SECONDS - started))
  progress 65 "converting the disk ($((DISK_BYTES / 1048576)) MiB) to $FORMAT ($EXT)"
  mkdir -p -- "$staging"
  convert_disk "$raw" "$staging/$ARTIFACT_NAME"
  cp -- "$ROOTFS_DIR/packages.tsv" "$staging/$MANIFEST_NAME"
  rm -f -- "$raw"
  progress 90 "writing checksums"
  (cd -- "$staging" && sha256sum -- "$ARTIFACT_NAME" "$MANIFEST_NAME") >"$staging/SHA256SUMS"
  python3 - "$staging/build.json" "$PRODUCT" "$VERSION" "$FORMAT" "$REVISION" "$(now)" "${VMOPS_JOB_ID:-}" \
    "$KERNEL" "$PACKAGE_COUNT" "$ROOTFS_KEY" "$SUITE" "$DISK_BYTES" "$MANIFEST_NAME" "$disk_seconds" "$((SECONDS - started))" \
    "$staging/$ARTIFACT_NAME" "$staging/$MANIFEST_NAME" <<'PY'
import hashlib, json, os, sys
(out, product, version, fmt, revision, built_at, job, kernel, packages, key, suite, disk_bytes, manifest,
 disk_seconds, seconds, *paths) = sys.argv[1:]
def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
files = [{"name": os.path.basename(p), "size": os.path.getsize(p), "sha256": sha(p)} for p in paths]
doc = {"product": product, "version": version, "format": fmt, "revision": int(revision), "files": files,
       "builtAt": built_at, "job": job or None, "kernel": kernel, "packages": int(packages),
       "manifest": manifest, "rootfs": key, "suite": suite, "rawBytes": int(disk_bytes),
       "seconds": {"rootfsAndDisk": int(disk_seconds), "total": int(seconds)}}
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
PY
  progress 95 "moving the image into place"
  mkdir -p -- "$parent"
  if [[ -e "$IMAGE_DIR" ]]; then mv -T -- "$IMAGE_DIR" "$old"; fi
  mv -T -- "$staging" "$IMAGE_DIR" || die 1 "could not move the new image to $IMAGE_DIR (another build of it running?)"
  rm -rf -- "$old"
}

# The node that runs boot-test.ts: the one npm put on PATH (the project's Node 24) or VMOPS_NODE.
node_program() {
  local node="${VMOPS_NODE:-}" repo
  repo="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
  if [[ -z "$node" && -x "$repo/node_modules/.bin/node" ]]; then node="$repo/node_modules/.bin/node"; fi
  printf '%s\n' "${node:-node}"
}

# boot_slots: how many guests this host boots at once. VMOPS_BOOT_SLOTS when the worker or the SSH host
# sets it (config: jobs.bootSlots, hosts.<name>.bootSlots); else one under TCG (no KVM, or a KVM that
# failed the boot probe, or none probed yet), because TCG guests that share a small host's cores starve
# each other until their timeouts fire; the number of CPUs when the probe found a working KVM.
boot_slots() {
  local probe
  if [[ -n "${VMOPS_BOOT_SLOTS:-}" ]]; then
    [[ "$VMOPS_BOOT_SLOTS" =~ ^[1-9][0-9]{0,1}$ ]] || die 2 "refusing VMOPS_BOOT_SLOTS '$VMOPS_BOOT_SLOTS' (want 1 to 99)"
    printf '%s\n' "$VMOPS_BOOT_SLOTS"
    return
  fi
  probe="$(rootfs_cache_dir)/../kvm-probe-$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
  if [[ "${VMOPS_ACCEL:-auto}" == kvm || ("${VMOPS_ACCEL:-auto}" == auto && "$(cat -- "$probe" 2>/dev/null)" == kvm) ]]; then
    nproc
  else
    printf '1\n'
  fi
}

# take_boot_slot: waits until one of this host's boot slots (boot_slots) is free and holds it on the
# file descriptor BOOT_SLOT_FD, which the boot test and its QEMU inherit: the slot is free again when
# the last of them is gone, also when the step is killed. A queued boot says so in the status line.
take_boot_slot() {
  local slots dir fd i said=''
  slots="$(boot_slots)"
  dir="$(rootfs_cache_dir)/../boot-slots"
  mkdir -p -- "$dir"
  while :; do
    for ((i = 0; i < slots; i++)); do
      exec {fd}>>"$dir/slot-$i"
      if flock -n "$fd"; then
        BOOT_SLOT_FD="$fd"
        return 0
      fi
      exec {fd}>&-
    done
    if [[ -z "$said" ]]; then
      status "waiting to boot: this host boots $slots guest(s) at once and they are all running"
      printf 'boot slots of this host (%s) all taken: waiting\n' "$slots"
      said=1
    fi
    # Wait on one slot's lock (the kernel wakes us when it is released), a second at most so that
    # another slot freed meanwhile is seen.
    exec {fd}>>"$dir/slot-$((RANDOM % slots))"
    if flock -w 1 "$fd"; then
      BOOT_SLOT_FD="$fd"
      return 0
    fi
    exec {fd}>&-
  done
}

# test_image <scratch dir>: host-side checks into <dir>/host.tap, the boot test into <dir>/boot.tap;
# announces both reports; exits 1 when a check failed.
test_image() {
  local dir="$1" scratch artifact disk qemu_format bus results=() count=0 failed=0
  scratch="$dir/test-$FORMAT"
  artifact="$IMAGE_DIR/$ARTIFACT_NAME"
  disk="$artifact"
  rm -rf -- "$scratch"
  mkdir -p -- "$scratch"
  exists() { [[ -s "$1" ]] || { printf 'missing or empty: %s\n' "$1"; return 1; }; }
  sums_match() { (cd -- "$IMAGE_DIR" && sha256sum --strict -c SHA256SUMS); }
  ova_order() { expect "OVA members" "$(tar -tf "$artifact" | tr '\n' ' ')" "$BASENAME.ovf $BASENAME.mf $VMDK_NAME "; }
  ova_manifest() {
    mkdir -p -- "$scratch/ova" && tar -xf "$artifact" -C "$scratch/ova" || return 1
    local line name want listed=0
    while IFS= read -r line; do
      [[ "$line" =~ ^SHA256\(([^/]+)\)=\ ([0-9a-f]{64})$ ]] || { printf 'bad manifest line: %s\n' "$line"; return 1; }
      name="${BASH_REMATCH[1]}" want="${BASH_REMATCH[2]}"
      expect "sha256 of $name" "$(sha256 "$scratch/ova/$name")" "$want" || return 1
      listed=$((listed + 1))
    done <"$scratch/ova/$BASENAME.mf"
    expect "files in the manifest" "$listed" 2
  }
  ovf_valid() {
    python3 - "$scratch/ova/$BASENAME.ovf" "$VMDK_NAME" "$(file_size "$scratch/ova/$VMDK_NAME")" "$(json_value "$IMAGE_DIR/build.json" rawBytes)" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = "{http://schemas.dmtf.org/ovf/envelope/1}"
path, name, size, capacity = sys.argv[1:]
root = ET.parse(path).getroot()
refs = [(f.get(f"{ns}href"), f.get(f"{ns}size")) for f in root.findall(f"{ns}References/{ns}File")]
if refs != [(name, size)]:
    sys.exit(f"References: got {refs}, want {[(name, size)]}")
disks = [d.get(f"{ns}capacity") for d in root.findall(f"{ns}DiskSection/{ns}Disk")]
if disks != [capacity]:
    sys.exit(f"Disk capacity: got {disks}, want [{capacity}]")
if root.find(f"{ns}VirtualSystem/{ns}VirtualHardwareSection") is None:
    sys.exit("no VirtualHardwareSection")
PY
  }
  image_info() { qemu-img info --output=json -- "$disk" >"$scratch/info.json" && cat "$scratch/info.json"; }
  format_is() { expect "qemu-img format" "$(json_value "$scratch/info.json" format)" "$DISK_FORMAT"; }
  image_check() { qemu-img check -f "$DISK_FORMAT" -- "$disk"; }
  has_mbr() {
    rm -f -- "$scratch/mbr.bin"
    qemu-img dd -f "$DISK_FORMAT" -O raw bs=512 count=1 if="$disk" of="$scratch/mbr.bin" || return 1
    expect "boot signature" "$(od -An -tx1 -j 510 -N 2 -- "$scratch/mbr.bin" | tr -d ' \n')" 55aa
  }

  status "testing $PRODUCT $VERSION $FORMAT ($ARTIFACT_NAME)"
  progress 5 "host-side checks"
  check "$ARTIFACT_NAME exists" exists "$artifact"
  check "$MANIFEST_NAME (package manifest) exists" exists "$IMAGE_DIR/$MANIFEST_NAME"
  check "files match SHA256SUMS" sums_match
  if [[ "$FORMAT" == vmware ]]; then
    disk="$scratch/ova/$VMDK_NAME"
    check "OVA members in order: .ovf, .mf, disk" ova_order
    check "OVA manifest checksums match" ova_manifest
    check "OVF descriptor is valid and references the disk" ovf_valid
  fi
  check "qemu-img info reads the image" image_info
  check "qemu-img says format $DISK_FORMAT" format_is
  if [[ "$DISK_FORMAT" != raw ]]; then check "qemu-img check finds no errors" image_check; fi
  check "the disk starts with a boot sector" has_mbr
  {
    printf 'TAP version 13\n1..%d\n' "$count"
    printf '%s\n' "${results[@]}"
    printf '# host-side checks of %s: %d of %d passed\n' "$ARTIFACT_NAME" $((count - failed)) "$count"
  } >"$dir/host.tap"
  printf '::report %s\n' "$dir/host.tap"
  if [[ ! -s "$disk" ]]; then
    status "$failed of $count host-side checks failed; nothing to boot"
    exit 1
  fi

  progress 20 "booting $ARTIFACT_NAME under QEMU with a NoCloud seed"
  local seed="$scratch/seed" marker="ctx-${VMOPS_JOB_ID:-manual}-$RANDOM"
  mkdir -p -- "$seed"
  printf 'instance-id: vmops-test-%s\nlocal-hostname: cernvm-test\n' "${VMOPS_JOB_ID:-manual}" >"$seed/meta-data"
  cat >"$seed/user-data" <<USERDATA
#cloud-config
write_files:
  - path: /var/lib/vmops/marker
    content: "$marker"
USERDATA
  {
    printf 'version=%s\n' "$VERSION"
    printf 'kernel=%s\n' "$(json_value "$IMAGE_DIR/build.json" kernel)"
    printf 'manifest_sha256=%s\n' "$(sha256 "$IMAGE_DIR/$MANIFEST_NAME")"
    printf 'marker=%s\n' "$marker"
  } >"$seed/vmops-expect"
  genisoimage -quiet -output "$scratch/seed.iso" -volid cidata -joliet -rock \
    "$seed/user-data" "$seed/meta-data" "$seed/vmops-expect"
  qemu_format="$DISK_FORMAT"
  # The disk controller a hypervisor of that format would give it, where QEMU has one and the cloud
  # kernel a driver: VMware's paravirtual SCSI (as the OVF says), VirtualBox's PIIX IDE; virtio for
  # KVM, Xen and EC2, and for Hyper-V (QEMU has no storvsc). The cloud kernel has no AHCI (SATA).
  case "$FORMAT" in vmware) bus=pvscsi ;; virtualbox) bus=ide ;; *) bus=virtio ;; esac
  local boot_status=0 waited=$SECONDS
  take_boot_slot
  waited=$((SECONDS - waited))
  ((waited < 2)) || printf 'waited %d s for a boot slot\n' "$waited"
  # The boot's timeout counts from the guest's start (in boot-test.ts), not from the wait.
  "$(node_program)" "$(dirname -- "${BASH_SOURCE[0]}")/boot-test.ts" --image "$disk" --format "$qemu_format" \
    --seed "$scratch/seed.iso" --report "$dir/boot.tap" --console "$dir/console.log" --bus "$bus" \
    --timeout "${VMOPS_BOOT_TIMEOUT:-420}" --accel "${VMOPS_ACCEL:-auto}" --probe-cache "$(rootfs_cache_dir)/.." ||
    boot_status=$?
  exec {BOOT_SLOT_FD}>&-
  rm -rf -- "$scratch"
  if ((failed > 0 || boot_status != 0)); then
    status "$PRODUCT $VERSION $FORMAT failed its tests (host-side: $failed of $count failed; boot test: exit $boot_status)"
    exit 1
  fi
  progress 100 "$PRODUCT $VERSION $FORMAT passed the host-side checks and the boot test"
}
