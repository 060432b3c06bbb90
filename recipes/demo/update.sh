#!/usr/bin/env bash
# demo (stand-in) update step: publishes a software update for a version that is still published (the demo's
# updates are a record, not packages): appends the next numbered update with its time to
# $VMOPS_DOWNLOADS_DIR/<product>/<version>/updates.json. Refuses (exit 2) a version that is not
# published or is revoked.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

init_env
updates="$VERSION_DOWNLOADS/updates.json"
status "publishing an update for $PRODUCT $VERSION"
with_lock exclusive
require_published "publish an update for it"

number="$(python3 - "$updates" "$PRODUCT" "$VERSION" "$(now)" "${VMOPS_REQUESTED_BY:-}" "${VMOPS_JOB_ID:-}" <<'PY'
import json, os, sys
path, product, version, now, by, job = sys.argv[1:]
doc = {"product": product, "version": version, "latest": 0, "updates": []}
if os.path.exists(path):
    with open(path) as f:
        doc = json.load(f)
number = max((u["number"] for u in doc["updates"]), default=0) + 1
doc["updates"].append({"number": number, "publishedAt": now, "by": by or None, "job": job or None})
doc["latest"] = number
doc["updated"] = now
tmp = f"{path}.tmp.{os.getpid()}"
with open(tmp, "w") as f:
    f.write(json.dumps(doc, indent=2) + "\n")
os.replace(tmp, path)
print(number)
PY
)"
printf '::artifact %s\n' "$updates"
progress 100 "published update $number for $PRODUCT $VERSION"
