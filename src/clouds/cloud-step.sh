#!/usr/bin/env bash
# Runs the cloud step (cloud-step.ts) with the Node on PATH, from wherever the job's working
# directory is: `src/clouds/cloud-step.sh deploy|update|revoke`. When no glance or ec2 cloud is
# involved there is nothing for it to do (the recipe's own step handles directory clouds), and Node
# is not started at all.
settings="${VMOPS_CLOUD_SETTINGS:-}"
if [[ "$settings" != *'"driver":"glance"'* && "$settings" != *'"driver":"ec2"'* ]]; then
  printf '::progress 100 no glance or ec2 cloud to change\n'
  exit 0
fi
exec node "$(dirname -- "${BASH_SOURCE[0]}")/cloud-step.ts" "$@"
