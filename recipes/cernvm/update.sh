#!/usr/bin/env bash
# Until the real cernvm update step lands, cernvm runs the demo (stand-in) recipe's.
exec "$(dirname -- "${BASH_SOURCE[0]}")/../demo/update.sh" "$@"
