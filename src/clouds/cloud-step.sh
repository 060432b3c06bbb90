#!/usr/bin/env bash
# Runs the cloud step (cloud-step.ts) with the Node on PATH, from wherever the job's working
# directory is: `src/clouds/cloud-step.sh deploy|update|revoke`.
exec node "$(dirname -- "${BASH_SOURCE[0]}")/cloud-step.ts" "$@"
