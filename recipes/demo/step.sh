#!/usr/bin/env bash
# Demo recipe step: `step.sh <name>` logs what it works on and reports progress in the vmops step
# protocol (::progress / ::status, see src/worker/progress-protocol.ts). VMOPS_DEMO_TICK sets the
# seconds between progress ticks (0.15); VMOPS_DEMO_FAIL=<name> makes that step fail (exit 3).
set -euo pipefail

step="${1:?usage: step.sh <step name>}"
tick="${VMOPS_DEMO_TICK:-0.15}"

printf 'demo %s: stage %s of %s %s, format %s\n' "$step" "${VMOPS_STAGE:-?}" "${VMOPS_PRODUCT:-?}" \
  "${VMOPS_VERSION:-?}" "${VMOPS_FORMAT:-(none)}"
printf '::status %s: starting\n' "$step"
part=0
for percent in 0 25 50 75 100; do
  part=$((part + 1))
  printf '::progress %d %s: part %d of 5\n' "$percent" "$step" "$part"
  if [[ "$percent" == 50 && "${VMOPS_DEMO_FAIL:-}" == "$step" ]]; then
    printf 'demo %s: failing on purpose (VMOPS_DEMO_FAIL=%s)\n' "$step" "$step" >&2
    exit 3
  fi
  if [[ "$percent" != 100 ]]; then sleep "$tick"; fi
done
printf '::status %s: done\n' "$step"
printf 'demo %s: finished\n' "$step"
