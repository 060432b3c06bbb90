# Shared functions of the cernvm recipe steps; sourced by build.sh, test.sh, publish.sh, … (not run).
#
# Every value a step uses comes from the environment the worker sets (see jobEnvironment in
# src/worker/stage-worker.ts). The product, version and format name files and directories, so they
# are checked here before anything is touched (defence in depth: the bot checks them too).
# JSON is read and written with python3 (standard library only); values reach it as argv, never
# inside the program text.

# mkfs.ext4 and debugfs live in /usr/sbin, which a non-root PATH often lacks.
PATH="$PATH:/usr/sbin:/sbin"
export PATH

# The formats this recipe builds, and the size of every disk.
FORMATS=(kvm vmware virtualbox xen hyperv ec2)
DISK_SIZE_MB=64
DISK_SIZE_BYTES=$((DISK_SIZE_MB * 1024 * 1024))

# die <exit code> <message…>: the message goes to stderr (the room sees it in the job log).
die() {
  local code="$1"
  shift
  printf '%s: %s\n' "${VMOPS_STEP:-${0##*/}}" "$*" >&2
  exit "$code"
}

progress() { printf '::progress %s %s\n' "$1" "$2"; }
status() { printf '::status %s\n' "$*"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
sha256() { sha256sum -- "$1" | cut -d ' ' -f 1; }
file_size() { stat -c %s -- "$1"; }

# require_abs <name>: the variable is set to an absolute path.
require_abs() {
  local name="$1"
  local value="${!name:-}"
  [[ -n "$value" ]] || die 2 "$name is not set"
  [[ "$value" == /* ]] || die 2 "$name must be an absolute path, not '$value'"
}

# Checks VMOPS_PRODUCT and VMOPS_VERSION and sets the directories every step uses.
init_env() {
  local product="${VMOPS_PRODUCT:-}" version="${VMOPS_VERSION:-}"
  [[ "$product" =~ ^[a-z][a-z0-9_-]{0,39}$ ]] || die 2 "refusing product name '$product' (want ^[a-z][a-z0-9_-]{0,39}\$)"
  [[ "$version" =~ ^[0-9]+(\.[0-9]+){1,3}$ ]] ||
    die 2 "refusing version '$version' (want digits and dots like 2.6 or 2.6.1, ^[0-9]+(\\.[0-9]+){1,3}\$)"
  PRODUCT="$product"
  VERSION="$version"
  if [[ -n "${VMOPS_DATA_DIR:-}" ]]; then
    : "${VMOPS_IMAGES_DIR:=$VMOPS_DATA_DIR/images}"
    : "${VMOPS_DOWNLOADS_DIR:=$VMOPS_DATA_DIR/downloads}"
    : "${VMOPS_CLOUDS_ROOT:=$VMOPS_DATA_DIR/clouds}"
  fi
  local name
  for name in VMOPS_WORKDIR VMOPS_IMAGES_DIR VMOPS_DOWNLOADS_DIR VMOPS_CLOUDS_ROOT; do require_abs "$name"; done
  PRODUCT_DOWNLOADS="$VMOPS_DOWNLOADS_DIR/$PRODUCT"
  VERSION_DOWNLOADS="$PRODUCT_DOWNLOADS/$VERSION"
  INDEX_JSON="$PRODUCT_DOWNLOADS/index.json"
  REVOCATIONS_JSON="$PRODUCT_DOWNLOADS/revocations.json"
  DEPLOY_NAME="$PRODUCT-$VERSION"
}

# Checks VMOPS_FORMAT too, and sets what the build of that format is made of.
init_format() {
  init_env
  local format="${VMOPS_FORMAT:-}" known found=''
  for known in "${FORMATS[@]}"; do
    if [[ "$format" == "$known" ]]; then found=1; fi
  done
  [[ -n "$found" ]] || die 2 "refusing format '$format' (want one of: ${FORMATS[*]})"
  FORMAT="$format"
  # DISK_FORMAT: what qemu-img makes; EXT: the artifact's extension; CONVERT: qemu-img convert options.
  case "$FORMAT" in
    kvm) DISK_FORMAT=qcow2 EXT=qcow2 CONVERT=(-O qcow2) ;;
    vmware) DISK_FORMAT=vmdk EXT=ova CONVERT=(-O vmdk -o subformat=streamOptimized) ;;
    virtualbox) DISK_FORMAT=vdi EXT=vdi CONVERT=(-O vdi) ;;
    xen | ec2) DISK_FORMAT=raw EXT=raw CONVERT=(-O raw) ;;
    hyperv) DISK_FORMAT=vhdx EXT=vhdx CONVERT=(-O vhdx -o subformat=dynamic,block_size=1048576) ;;
  esac
  BASENAME="$PRODUCT-$VERSION-$FORMAT"
  ARTIFACT_NAME="$BASENAME.$EXT"
  VMDK_NAME="$BASENAME-disk1.vmdk" # the disk inside the OVA (vmware)
  IMAGE_DIR="$VMOPS_IMAGES_DIR/$PRODUCT/$VERSION/$FORMAT"
}

# with_lock <shared|exclusive>: holds the product's download-area lock until the step exits.
# Every step that reads or changes index.json, revocations.json or the published files takes it.
with_lock() {
  mkdir -p -- "$PRODUCT_DOWNLOADS"
  exec {LOCK_FD}>>"$PRODUCT_DOWNLOADS/.lock"
  if [[ "$1" == shared ]]; then flock -s "$LOCK_FD"; else flock -x "$LOCK_FD"; fi
}

# Creates revocations.json if it is missing (call with the lock held).
ensure_revocations() {
  [[ -e "$REVOCATIONS_JSON" ]] && return 0
  printf '{"revoked": []}\n' >"$REVOCATIONS_JSON.tmp.$$"
  mv -f -- "$REVOCATIONS_JSON.tmp.$$" "$REVOCATIONS_JSON"
}

# publication_state: prints `published`, `revoked` or `unpublished` for PRODUCT/VERSION.
publication_state() {
  python3 - "$INDEX_JSON" "$REVOCATIONS_JSON" "$VERSION" <<'PY'
import json, os, sys
index_path, revocations_path, version = sys.argv[1:]
def load(path, default):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)
revoked = {entry.get("version") for entry in load(revocations_path, {"revoked": []}).get("revoked", [])}
formats = load(index_path, {}).get("versions", {}).get(version, {}).get("formats", {})
print("revoked" if version in revoked else "published" if formats else "unpublished")
PY
}

# require_published <what would be done>: exits 2 unless PRODUCT/VERSION is published and not revoked.
require_published() {
  local state
  state="$(publication_state)"
  case "$state" in
    published) ;;
    revoked) die 2 "$PRODUCT $VERSION is revoked (see $REVOCATIONS_JSON): refusing to $1" ;;
    *) die 2 "$PRODUCT $VERSION is not published (no entry in $INDEX_JSON): refusing to $1" ;;
  esac
}

# published_files: prints `format<TAB>name<TAB>sha256` for every published file of VERSION.
published_files() {
  python3 - "$INDEX_JSON" "$VERSION" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    formats = json.load(f)["versions"][sys.argv[2]]["formats"]
for fmt in sorted(formats):
    for entry in formats[fmt]["files"]:
        print(f"{fmt}\t{entry['name']}\t{entry['sha256']}")
PY
}
