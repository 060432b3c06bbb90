# Shared functions of the demo (stand-in) recipe steps: the cernvm recipe's (sourced, not run).
# shellcheck source=../cernvm/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../cernvm/lib.sh"
