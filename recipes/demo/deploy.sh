#!/usr/bin/env bash
# demo (stand-in) deploy step: copies every published file of the version (all formats published) into the
# directory cloud $VMOPS_CLOUD_PATH/<product>-<version>/ with a deployment.json. Refuses (exit 2)
# a version that is not published or is revoked. The copy appears whole or not at all.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

init_env
if [[ "${VMOPS_CLOUD_DRIVER:-directory}" != directory ]]; then
  status "cloud ${VMOPS_CLOUD:-?} uses the ${VMOPS_CLOUD_DRIVER//[^a-z0-9]/_} driver: the cloud step uploads the image"
  exit 0
fi
require_abs VMOPS_CLOUD_PATH
cloud="${VMOPS_CLOUD:-$(basename -- "$VMOPS_CLOUD_PATH")}"
target="$VMOPS_CLOUD_PATH/$DEPLOY_NAME"
staging="$VMOPS_CLOUD_PATH/.$DEPLOY_NAME.tmp.$$"
old="$VMOPS_CLOUD_PATH/.$DEPLOY_NAME.old.$$"
trap 'rm -rf -- "$staging" "$old"' EXIT

status "deploying $PRODUCT $VERSION to cloud $cloud"
# The lock keeps a revoke from removing the files while they are copied (and from missing this copy).
with_lock exclusive
require_published "deploy it"
listing="$(published_files)"

progress 10 "copying the published files"
mkdir -p -- "$staging"
formats=()
while IFS=$'\t' read -r format name sha; do
  cp --sparse=always -- "$VERSION_DOWNLOADS/$name" "$staging/$name"
  [[ "$(sha256 "$staging/$name")" == "$sha" ]] || die 1 "$name does not match its sha256 in $INDEX_JSON"
  if [[ " ${formats[*]} " != *" $format "* ]]; then formats+=("$format"); fi
  printf 'copied %s (%s)\n' "$name" "$format"
done <<<"$listing"

progress 90 "writing deployment.json"
python3 - "$PRODUCT" "$VERSION" "$cloud" "$(now)" "${VMOPS_REQUESTED_BY:-}" "${VMOPS_JOB_ID:-}" "$listing" \
  >"$staging/deployment.json" <<'PY'
import json, sys
product, version, cloud, now, by, job, listing = sys.argv[1:]
formats = {}
for line in listing.splitlines():
    fmt, name, sha = line.split("\t")
    formats.setdefault(fmt, []).append({"name": name, "sha256": sha})
doc = {"product": product, "version": version, "cloud": cloud, "deployedAt": now,
       "by": by or None, "job": job or None, "formats": formats}
print(json.dumps(doc, indent=2))
PY
if [[ -e "$target" ]]; then mv -T -- "$target" "$old"; fi
mv -T -- "$staging" "$target"
printf '::artifact %s\n' "$target/deployment.json"
progress 100 "deployed $PRODUCT $VERSION (${formats[*]}) to cloud $cloud"
