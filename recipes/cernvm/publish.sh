#!/usr/bin/env bash
# cernvm publish step: copies the built (and tested) image files of one format (the image and its
# package manifest) into the download area $VMOPS_DOWNLOADS_DIR/<product>/<version>/ and records them
# in <product>/index.json (versions → formats → files with size and sha256, kernel, package count,
# manifest) and the version's SHA256SUMS. The index and
# the files change under the product's lock, so publish jobs may run at once. The bot lets only a
# passed image reach this step; a revoked version is refused here too.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

init_format
[[ -f "$IMAGE_DIR/build.json" && -f "$IMAGE_DIR/SHA256SUMS" ]] ||
  die 2 "no built image of $PRODUCT $VERSION $FORMAT in $IMAGE_DIR: build and test it first"
staging="$PRODUCT_DOWNLOADS/.publish-$VERSION-$FORMAT.tmp.$$"
trap 'rm -rf -- "$staging"' EXIT

status "publishing $PRODUCT $VERSION $FORMAT"
progress 10 "verifying the image checksums"
(cd -- "$IMAGE_DIR" && sha256sum --quiet --strict -c SHA256SUMS) ||
  die 1 "the files in $IMAGE_DIR do not match their SHA256SUMS: rebuild the image"
mapfile -t names < <(cd -- "$IMAGE_DIR" && sed -E 's/^[0-9a-f]{64} [ *]//' SHA256SUMS)
((${#names[@]} > 0)) || die 1 "$IMAGE_DIR/SHA256SUMS lists no files"

progress 30 "copying ${#names[@]} file(s) to the download area"
mkdir -p -- "$staging"
for name in "${names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die 1 "refusing file name '$name' in $IMAGE_DIR/SHA256SUMS"
done
for name in "${names[@]}"; do cp --sparse=always -- "$IMAGE_DIR/$name" "$staging/$name"; done

progress 70 "updating $INDEX_JSON"
with_lock exclusive
ensure_revocations
if [[ "$(publication_state)" == revoked ]]; then
  die 2 "$PRODUCT $VERSION is revoked (see $REVOCATIONS_JSON): refusing to publish it again"
fi
mkdir -p -- "$VERSION_DOWNLOADS"
for name in "${names[@]}"; do mv -f -- "$staging/$name" "$VERSION_DOWNLOADS/$name"; done

python3 - "$INDEX_JSON" "$IMAGE_DIR/build.json" "$VERSION_DOWNLOADS/SHA256SUMS" "$(now)" "${VMOPS_JOB_ID:-}" <<'PY'
import json, os, sys
index_path, build_path, sums_path, now, job = sys.argv[1:]

def replace(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

with open(build_path) as f:
    build = json.load(f)
index = {"product": build["product"], "versions": {}}
if os.path.exists(index_path):
    with open(index_path) as f:
        index = json.load(f)
version = index["versions"].setdefault(build["version"], {"published": now, "formats": {}})
version["formats"][build["format"]] = {
    "published": now,
    "builtAt": build["builtAt"],
    "buildJob": build.get("job"),
    "publishJob": job or None,
    "files": build["files"],
}
# What is inside (the real recipe's build.json says it): kernel, package count, package manifest, revision.
for key in ("kernel", "packages", "manifest", "revision"):
    if key in build:
        version["formats"][build["format"]][key] = build[key]
index["updated"] = now
replace(index_path, json.dumps(index, indent=2, sort_keys=True) + "\n")
sums = sorted((e["name"], e["sha256"]) for fmt in version["formats"].values() for e in fmt["files"])
replace(sums_path, "".join(f"{sha}  {name}\n" for name, sha in sums))
PY

for name in "${names[@]}"; do printf '::artifact %s\n' "$VERSION_DOWNLOADS/$name"; done
progress 100 "published $PRODUCT $VERSION $FORMAT: ${names[*]}"
