#!/usr/bin/env bash
# The whole distributed deployment on this machine: Postgres, Redis and Kafka (up.sh),
# every Axon service as its own process (two room-servers, two syncs, one client-api,
# federation-receiver, federation-sender and media) and nginx in front on
# 127.0.0.1:8008 (AXON_DISTRIBUTED_LISTEN), routed by the routing table the Helm
# Ingress is rendered from. Stop it with deploy/local/distributed-down.sh.
#   AXON_ENABLE_REGISTRATION=true deploy/local/distributed-up.sh
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DIST_DIR=${AXON_DISTRIBUTED_DIR:-$PWD/.infra/distributed}
mkdir -p "$DIST_DIR"
# Whether up.sh starts the infrastructure now (then distributed-down.sh stops it again)
# or it was running already (then it is left running).
if pg_running && redis_pid >/dev/null && kafka_pid >/dev/null; then
  echo "kept" >"$DIST_DIR/infra"
else
  echo "started" >"$DIST_DIR/infra"
fi
bash deploy/local/up.sh

if [[ ! -x /usr/sbin/nginx ]]; then
  sudo=(); ((EUID == 0)) || sudo=(sudo)
  log "installing nginx-light"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null
fi
[[ -f node_modules/.bin/node ]] || npm ci --no-audit --no-fund
[[ -f dist/apps/room-server/src/main.js ]] || npm run -s build
eval "$(bash deploy/local/env.sh --export)"
export AXON_DATABASE_URL AXON_REDIS_URL AXON_KAFKA_BROKERS AXON_DISTRIBUTED_DIR="$DIST_DIR"
node_modules/.bin/node tools/deploy/distributed.mjs up
