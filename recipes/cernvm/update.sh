#!/usr/bin/env bash
# cernvm update step: publishes software updates for a published version as its next revision
# (2.5 → 2.5 r1 → 2.5 r2 …). It collects the version's package set again against the newest packages
# (pins dropped, no snapshot), builds every published format of the version as the new revision,
# boot-tests each, and compares the package manifests (name old → new). When every test passed, the
# revision's files replace the older ones in the download area (index.json serves the newest revision
# that passed, with the revision list and its changes) and the notes go next to them; when one failed,
# nothing is published. Writes $VMOPS_WORKDIR/update.json (read by the worker for the catalog).
set -euo pipefail
here="$(dirname -- "${BASH_SOURCE[0]}")"
source "$here/lib.sh"
source "$here/appliance.sh"

init_env
init_package_set
require_root
# Newer packages: the same names, no pins, no snapshot.
PACKAGES=("${NAMES[@]}")
unset VMOPS_SNAPSHOT

status "updating $PRODUCT $VERSION: collecting its packages again against the newest in $SUITE"
with_lock shared
require_published "publish an update for it"
mapfile -t formats < <(python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1]))["versions"][sys.argv[2]]["formats"])))' "$INDEX_JSON" "$VERSION")
current="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"][sys.argv[2]].get("revision", 0))' "$INDEX_JSON" "$VERSION")"
old_manifest="$VMOPS_WORKDIR/old-packages.tsv"
first_format="${formats[0]:?no published format}"
python3 - "$INDEX_JSON" "$VERSION" "$first_format" >"$VMOPS_WORKDIR/old-manifest-name" <<'PY'
import json, sys
entry = json.load(open(sys.argv[1]))["versions"][sys.argv[2]]["formats"][sys.argv[3]]
print(entry.get("manifest", ""))
PY
old_name="$(cat "$VMOPS_WORKDIR/old-manifest-name")"
[[ -n "$old_name" && -f "$VERSION_DOWNLOADS/$old_name" ]] ||
  die 2 "$PRODUCT $VERSION has no published package manifest to compare with (published by another recipe?)"
cp -- "$VERSION_DOWNLOADS/$old_name" "$old_manifest"
flock -u "$LOCK_FD"
next=$((current + 1))
printf 'revision %s of %s %s: formats %s\n' "$next" "$PRODUCT" "$VERSION" "${formats[*]}"

built=()
failed_formats=()
fresh=fresh
i=0
for format in "${formats[@]}"; do
  i=$((i + 1))
  VMOPS_FORMAT="$format" init_format
  set_revision "$next"
  status "r$next: building $format ($i of ${#formats[@]})"
  (build_image "$fresh") || die 1 "r$next: the build of $format failed"
  fresh=''
  built+=("$format")
  status "r$next: boot-testing $format ($i of ${#formats[@]})"
  mkdir -p -- "$VMOPS_WORKDIR/test-r$next-$format"
  # (test_image exits: a subshell keeps this loop going, and its reports are announced on stdout)
  if ! (test_image "$VMOPS_WORKDIR/test-r$next-$format"); then failed_formats+=("$format"); fi
done

changes="$VMOPS_WORKDIR/changes.json"
VMOPS_FORMAT="$first_format" init_format
set_revision "$next"
python3 - "$old_manifest" "$IMAGE_DIR/$MANIFEST_NAME" >"$changes" <<'PY'
import json, sys
def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                out[parts[0]] = parts[1]
    return out
old, new = load(sys.argv[1]), load(sys.argv[2])
changes = []
for name in sorted(set(old) | set(new)):
    if old.get(name) != new.get(name):
        change = {"name": name}
        if name in old: change["from"] = old[name]
        if name in new: change["to"] = new[name]
        changes.append(change)
json.dump(changes, sys.stdout)
PY

state=published
((${#failed_formats[@]} == 0)) || state=failed
notes="$VMOPS_WORKDIR/update.json"
images_json="$VMOPS_WORKDIR/images.json"
: >"$images_json"
for format in "${built[@]}"; do
  VMOPS_FORMAT="$format" init_format
  set_revision "$next"
  printf '%s\t%s\t%s\n' "$format" "$IMAGE_DIR" "$ARTIFACT_NAME" >>"$images_json"
done
python3 - "$notes" "$PRODUCT" "$VERSION" "$next" "$state" "$changes" "$images_json" "$(now)" "${VMOPS_JOB_ID:-}" \
  "${VMOPS_REQUESTED_BY:-}" <<'PY'
import json, os, sys
out, product, version, revision, state, changes_path, images_path, now, job, by = sys.argv[1:]
images = []
with open(images_path) as f:
    for line in f:
        fmt, directory, artifact = line.rstrip("\n").split("\t")
        build = json.load(open(os.path.join(directory, "build.json")))
        images.append({"format": fmt, "files": [os.path.join(directory, e["name"]) for e in build["files"]],
                       "kernel": build.get("kernel"), "packages": build.get("packages"),
                       "manifest": build.get("manifest"), "build": build})
doc = {"product": product, "version": version, "revision": int(revision), "state": state,
       "changes": json.load(open(changes_path)), "images": images, "at": now, "job": job or None, "by": by or None}
json.dump(doc, open(out, "w"), indent=2)
PY
printf '::artifact %s\n' "$notes"
summary="$(python3 - "$changes" "$next" <<'PY'
import json, sys
changes = json.load(open(sys.argv[1]))
shown = [f"{c['name']} {c.get('from', '(new)')} → {c.get('to', '(removed)')}" for c in changes[:5]]
more = f", and {len(changes) - 5} more" if len(changes) > 5 else ""
print(f"r{sys.argv[2]}: {len(changes)} package(s) changed" + (": " + ", ".join(shown) + more if changes else ""))
PY
)"
printf '%s\n' "$summary"
if [[ "$state" != published ]]; then
  die 1 "$summary; not published: the boot test of ${failed_formats[*]} failed"
fi

progress 90 "publishing r$next"
with_lock exclusive
require_published "publish an update for it"
python3 - "$notes" "$INDEX_JSON" "$VERSION_DOWNLOADS" "$(now)" <<'PY'
import json, os, shutil, sys
notes_path, index_path, downloads, now = sys.argv[1:]
notes = json.load(open(notes_path))
index = json.load(open(index_path))
entry = index["versions"][notes["version"]]
old_files = {f["name"] for fmt in entry["formats"].values() for f in fmt["files"]}
for image in notes["images"]:
    build = image["build"]
    for path in image["files"]:
        tmp = os.path.join(downloads, f".{os.path.basename(path)}.tmp.{os.getpid()}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, os.path.join(downloads, os.path.basename(path)))
    entry["formats"][image["format"]] = {
        "published": now, "builtAt": build["builtAt"], "buildJob": notes["job"], "publishJob": notes["job"],
        "files": build["files"], "kernel": build.get("kernel"), "packages": build.get("packages"),
        "manifest": build.get("manifest"), "revision": notes["revision"],
    }
entry["revision"] = notes["revision"]
entry.setdefault("revisions", []).append({"revision": notes["revision"], "published": now, "job": notes["job"],
                                          "by": notes["by"], "changes": notes["changes"]})
new_files = {f["name"] for fmt in entry["formats"].values() for f in fmt["files"]}
notes_name = f"{notes['product']}-{notes['version']}-r{notes['revision']}.notes.json"
with open(os.path.join(downloads, notes_name), "w") as f:
    json.dump({k: notes[k] for k in ("product", "version", "revision", "changes", "at", "job", "by")}, f, indent=2)
index["updated"] = now
tmp = f"{index_path}.tmp.{os.getpid()}"
with open(tmp, "w") as f:
    f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
os.replace(tmp, index_path)
# The older revision's files leave the download area (they stay under images/ on the build host).
for name in old_files - new_files:
    try:
        os.remove(os.path.join(downloads, name))
    except FileNotFoundError:
        pass
sums = sorted((e["name"], e["sha256"]) for fmt in entry["formats"].values() for e in fmt["files"])
with open(os.path.join(downloads, "SHA256SUMS"), "w") as f:
    f.write("".join(f"{sha}  {name}\n" for name, sha in sums))
PY
progress 100 "published $PRODUCT $VERSION r$next: $summary"
