#!/usr/bin/env bash
# Scales one service of the deployment deploy/local/distributed-up.sh started:
#   deploy/local/scale.sh sync 3          start sync replicas until three run
#   deploy/local/scale.sh room-server 1   stop room-server replicas (highest numbered first) until one runs
# An added replica is registered once it is ready: its gRPC address in
# .infra/distributed/grpc-targets/<service>.targets (every other process follows the file),
# its HTTP port in nginx's upstreams (reloaded in place), its /metrics in the collector's
# scrape targets. A removed one leaves all three first, then drains (SIGTERM; SIGKILL after
# 30 s). deploy/local/distributed-down.sh stops every replica, added ones included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if (($# != 2)); then
  echo "usage: deploy/local/scale.sh SERVICE REPLICAS" >&2
  exit 2
fi
DIST_DIR=${AXON_DISTRIBUTED_DIR:-$PWD/.infra/distributed}
NODE=node_modules/.bin/node
[[ -x $NODE ]] || NODE=node
AXON_DISTRIBUTED_DIR="$DIST_DIR" exec "$NODE" tools/deploy/distributed.mjs scale "$1" "$2"
