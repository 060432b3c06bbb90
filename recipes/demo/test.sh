#!/usr/bin/env bash
# demo (stand-in) test step: checks the built image of one version in one format and leaves a TAP 13 report
# in $VMOPS_WORKDIR/report.tap (one test point per check). Exits 1 when a check failed, after the
# report is written. VMOPS_DEMO_CORRUPT=1 tests a copy with one byte flipped, to show a failure.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname -- "${BASH_SOURCE[0]}")/../lib/tap-check.sh"

init_format
report="$VMOPS_WORKDIR/report.tap"
scratch="$VMOPS_WORKDIR/test-$FORMAT"
artifact="$IMAGE_DIR/$ARTIFACT_NAME"
disk="$artifact" # the disk image itself; for vmware the VMDK unpacked from the OVA
rm -rf -- "$scratch"
mkdir -p -- "$scratch"

results=()
count=0
failed=0

# json_get <file> <key>…: a value from a JSON document (nested keys), printed as text.
json_get() {
  python3 - "$@" <<'PY'
import json, sys
try:
    with open(sys.argv[1]) as f:
        value = json.load(f)
    for key in sys.argv[2:]:
        value = value[key]
except (OSError, ValueError, KeyError, TypeError) as error:
    sys.exit(f"{sys.argv[1]}: no {'.'.join(sys.argv[2:])} ({type(error).__name__}: {error})")
print(value)
PY
}

corrupt_copy() {
  local copy="$scratch/corrupt-$ARTIFACT_NAME" offset byte
  cp -- "$artifact" "$copy" || return 1
  offset=$(($(file_size "$copy") / 2))
  byte="$(od -An -tu1 -j "$offset" -N 1 -- "$copy" | tr -d ' ')"
  # shellcheck disable=SC2059 # the format is the octal escape of the flipped byte
  printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$copy" bs=1 seek="$offset" conv=notrunc status=none
  printf 'VMOPS_DEMO_CORRUPT=1: testing a copy with the byte at %d flipped\n' "$offset"
  artifact="$copy"
  disk="$copy"
}

artifact_exists() {
  [[ -f "$artifact" && -s "$artifact" ]] && return 0
  printf 'missing or empty: %s\n' "$artifact"
  return 1
}

checksum_matches() {
  local want got
  want="$(awk -v name="$ARTIFACT_NAME" '$2 == name || $2 == "*" name { print $1 }' "$IMAGE_DIR/SHA256SUMS")" || return 1
  got="$(sha256 "$artifact")" || return 1
  expect "sha256 of $ARTIFACT_NAME" "$got" "$want"
}

ova_order() {
  local members
  members="$(tar -tf "$artifact" | tr '\n' ' ')" || return 1
  expect "OVA members" "$members" "$BASENAME.ovf $BASENAME.mf $VMDK_NAME "
}

ova_unpack() { mkdir -p -- "$scratch/ova" && tar -xf "$artifact" -C "$scratch/ova"; }

# Checks every file against the `SHA256(file)= hex` lines of the OVA's manifest.
ova_manifest() {
  local dir="$scratch/ova" line name want listed=0
  while IFS= read -r line; do
    [[ "$line" =~ ^SHA256\(([^/]+)\)=\ ([0-9a-f]{64})$ ]] || { printf 'bad manifest line: %s\n' "$line"; return 1; }
    name="${BASH_REMATCH[1]}" want="${BASH_REMATCH[2]}"
    [[ -f "$dir/$name" ]] || { printf 'manifest lists %s, not in the OVA\n' "$name"; return 1; }
    expect "sha256 of $name" "$(sha256 "$dir/$name")" "$want" || return 1
    listed=$((listed + 1))
  done <"$dir/$BASENAME.mf"
  expect "files in the manifest" "$listed" 2
}

# The OVF descriptor parses and names the disk with its real size.
ovf_references_disk() {
  python3 - "$scratch/ova/$BASENAME.ovf" "$VMDK_NAME" "$(file_size "$disk")" <<'PY'
import sys, xml.etree.ElementTree as ET
ovf = "{http://schemas.dmtf.org/ovf/envelope/1}"
path, name, size = sys.argv[1:]
files = ET.parse(path).getroot().findall(f"{ovf}References/{ovf}File")
refs = [(f.get(f"{ovf}href"), f.get(f"{ovf}size")) for f in files]
if refs != [(name, size)]:
    sys.exit(f"References: got {refs}, want {[(name, size)]}")
PY
}

image_info() { qemu-img info --output=json -- "$disk" >"$scratch/info.json" && cat "$scratch/info.json"; }
format_is() { expect "qemu-img format" "$(json_get "$scratch/info.json" format)" "$DISK_FORMAT"; }
stream_optimized() {
  expect "vmdk create-type" "$(json_get "$scratch/info.json" format-specific data create-type)" streamOptimized
}
virtual_size() { expect "virtual size" "$(json_get "$scratch/info.json" virtual-size)" "$DISK_SIZE_BYTES"; }
image_check() { qemu-img check -f "$DISK_FORMAT" -- "$disk"; }

back_to_raw() { qemu-img convert -f "$DISK_FORMAT" -O raw -- "$disk" "$raw"; }

# image_file_has <path in the image> <line>: debugfs exits 0 even when the file is missing, so the
# output is what counts.
image_file_has() {
  local text
  text="$(debugfs -R "cat $1" -- "$raw" 2>&1)" || return 1
  grep -qxF -- "$2" <<<"$text" && return 0
  printf '%s in the image has no line %s; debugfs printed:\n%s\n' "$1" "$2" "$text"
  return 1
}

owned_by_root() {
  local text
  text="$(debugfs -R "stat $1" -- "$raw" 2>&1)" || return 1
  grep -qE 'User: +0 +Group: +0 ' <<<"$text" && return 0
  printf '%s\n' "$text" | head -n 5
  return 1
}

# finish: writes the report and ends the step (exit 1 when a check failed).
finish() {
  {
    printf 'TAP version 13\n1..%d\n' "$count"
    printf '%s\n' "${results[@]}"
    printf '# %s %s %s: %d of %d passed\n' "$PRODUCT" "$VERSION" "$FORMAT" $((count - failed)) "$count"
  } >"$report"
  printf '::report %s\n' "$report"
  rm -rf -- "$scratch"
  if ((failed > 0)); then
    status "$failed of $count checks failed for $PRODUCT $VERSION $FORMAT"
    exit 1
  fi
  progress 100 "all $count checks passed for $PRODUCT $VERSION $FORMAT"
  exit 0
}

status "testing $PRODUCT $VERSION $FORMAT ($ARTIFACT_NAME)"
if [[ "${VMOPS_DEMO_CORRUPT:-}" == 1 && -f "$artifact" ]]; then corrupt_copy; fi
if [[ "$FORMAT" == vmware ]]; then disk="$scratch/ova/$VMDK_NAME"; fi
raw="$disk" # what debugfs reads; a converted copy for the formats that are not raw
if [[ "$DISK_FORMAT" != raw ]]; then raw="$scratch/contents.raw"; fi
check "$ARTIFACT_NAME exists" artifact_exists
if ((failed > 0)); then finish; fi # nothing else to check
check "sha256 of $ARTIFACT_NAME matches SHA256SUMS" checksum_matches
if [[ "$FORMAT" == vmware ]]; then
  check "OVA members in order: .ovf, .mf, disk" ova_order
  check "OVA unpacks" ova_unpack
  check "OVA manifest checksums match" ova_manifest
  check "OVF descriptor references the disk with its size" ovf_references_disk
fi
progress 40 "inspecting the $DISK_FORMAT image"
check "qemu-img info reads the image" image_info
check "qemu-img says format $DISK_FORMAT" format_is
if [[ "$FORMAT" == vmware ]]; then check "VMDK create-type is streamOptimized" stream_optimized; fi
check "virtual size is $DISK_SIZE_MB MiB" virtual_size
if [[ "$DISK_FORMAT" == raw ]]; then
  skip "qemu-img check" "qemu-img cannot check raw images (exit 63)"
else
  check "qemu-img check finds no errors" image_check
fi
progress 70 "reading files in the image"
if [[ "$DISK_FORMAT" != raw ]]; then check "converts back to raw" back_to_raw; fi
check "/etc/os-release says NAME=\"CernVM\"" image_file_has /etc/os-release 'NAME="CernVM"'
check "/etc/os-release says VERSION=\"$VERSION\"" image_file_has /etc/os-release "VERSION=\"$VERSION\""
check "/etc/cernvm-release names $VERSION" image_file_has /etc/cernvm-release "CernVM release $VERSION"
check "files in the image are owned by root" owned_by_root /etc/os-release
finish
