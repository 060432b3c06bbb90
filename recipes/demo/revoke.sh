#!/usr/bin/env bash
# demo (stand-in) revoke step: takes a version out of circulation. Under the product's lock it lists the
# version in revocations.json (with $VMOPS_PARAM_REASON and who asked), removes it from index.json,
# deletes its download directory, and removes <product>-<version> from every directory cloud under
# $VMOPS_CLOUDS_ROOT (a cloud directory may be nested up to three levels deep). Revoking again is harmless: the first revocation entry stays.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

init_env
status "revoking $PRODUCT $VERSION"
with_lock exclusive
ensure_revocations

progress 10 "updating $REVOCATIONS_JSON and $INDEX_JSON"
python3 - "$REVOCATIONS_JSON" "$INDEX_JSON" "$VERSION" "${VMOPS_PARAM_REASON:-}" "${VMOPS_REQUESTED_BY:-}" \
  "$(now)" <<'PY'
import json, os, sys
revocations_path, index_path, version, reason, by, now = sys.argv[1:]

def replace(path, doc):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)

with open(revocations_path) as f:
    revocations = json.load(f)
if any(entry.get("version") == version for entry in revocations["revoked"]):
    print(f"{version} was already on the revocation list")
else:
    revocations["revoked"].append({"version": version, "reason": reason or None, "revokedAt": now, "by": by or None})
    replace(revocations_path, revocations)
if os.path.exists(index_path):
    with open(index_path) as f:
        index = json.load(f)
    formats = index.get("versions", {}).pop(version, {}).get("formats", {})
    index["updated"] = now
    replace(index_path, index)
    print(f"unpublished formats: {', '.join(sorted(formats)) or 'none'}")
PY

progress 40 "removing the published files"
rm -rf -- "$VERSION_DOWNLOADS" "$PRODUCT_DOWNLOADS/.publish-$VERSION-"*.tmp.*

progress 60 "undeploying from the directory clouds"
undeployed=0
# Every <product>-<version> directory in a cloud directory under the clouds root (nested paths too).
while IFS= read -r -d '' deployed; do
  if [[ "$(basename -- "$deployed")" != "$DEPLOY_NAME" ]]; then # left by a deploy that was killed
    rm -rf -- "$deployed"
    continue
  fi
  directory="$(dirname -- "${deployed#"$VMOPS_CLOUDS_ROOT"/}")"
  cloud="$directory" # the cloud's name in config, as deploy.sh recorded it, when it can be read
  if [[ -f "$deployed/deployment.json" ]]; then
    cloud="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cloud"])' \
      "$deployed/deployment.json" 2>/dev/null)" || cloud="$directory"
  fi
  rm -rf -- "$deployed"
  undeployed=$((undeployed + 1))
  # (names stripped to safe characters: a line break would start a new directive)
  status "undeployed $PRODUCT $VERSION from cloud ${cloud//[^A-Za-z0-9._-]/_} (directory ${directory//[^A-Za-z0-9._\/-]/_})"
done < <(find "$VMOPS_CLOUDS_ROOT" -mindepth 2 -maxdepth 4 -type d \
  \( -name "$DEPLOY_NAME" -o -name ".$DEPLOY_NAME.tmp.*" -o -name ".$DEPLOY_NAME.old.*" \) -print0 -prune 2>/dev/null)
progress 100 "revoked $PRODUCT $VERSION: unpublished, undeployed from $undeployed cloud(s)"
