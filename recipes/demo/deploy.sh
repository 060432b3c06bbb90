#!/usr/bin/env bash
# demo (stand-in) deploy step: the same as the cernvm product's (recipes/cernvm/deploy.sh), which takes what
# the stand-in build leaves as it takes what the real one leaves.
exec "$(dirname -- "${BASH_SOURCE[0]}")/../cernvm/deploy.sh" "$@"
