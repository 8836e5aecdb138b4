#!/usr/bin/env bash
# Stops exactly what deploy/local/distributed-up.sh started: the service processes and
# nginx listed in its pid file (each checked to still be ours), then the infrastructure
# if that command had started it (deploy/local/down.sh). Data is kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DIST_DIR=${AXON_DISTRIBUTED_DIR:-$PWD/.infra/distributed}
NODE=node_modules/.bin/node
[[ -x $NODE ]] || NODE=node
AXON_DISTRIBUTED_DIR="$DIST_DIR" "$NODE" tools/deploy/distributed.mjs down
if [[ -f $DIST_DIR/infra && $(<"$DIST_DIR/infra") == started ]]; then
  bash deploy/local/down.sh
fi
rm -f "$DIST_DIR/infra"
