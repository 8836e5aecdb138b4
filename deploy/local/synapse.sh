#!/usr/bin/env bash
# Install (if needed) Synapse, the reference Matrix homeserver, from PyPI into a venv in
# the cache dir, and print the venv's python on stdout. Nothing is started: callers
# (tools/bench/lib/servers.mjs) write their own homeserver.yaml and run
#   "$(deploy/local/synapse.sh)" -m synapse.app.homeserver -c homeserver.yaml
# The venv lives in ${XDG_CACHE_HOME:-~/.cache}/axon/synapse-<version>/venv next to the
# Kafka jars, so `down.sh --purge` keeps it and a second call needs no network (~0.1 s).
#   AXON_SYNAPSE_VERSION   default 1.163.2 (the newest served here; abi3 wheels, no Rust)
#   AXON_PYTHON            default python3 (3.10+)
# Postgres support comes from psycopg2-binary (a wheel; Synapse imports the `psycopg2`
# module, which that distribution provides), so no libpq-dev/compiler is needed.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SYNAPSE_VERSION=${AXON_SYNAPSE_VERSION:-1.163.2}
PSYCOPG2_VERSION=${AXON_PSYCOPG2_VERSION:-2.9.13}
PYTHON=${AXON_PYTHON:-python3}
SYNAPSE_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/axon/synapse-$SYNAPSE_VERSION
SYNAPSE_VENV=$SYNAPSE_CACHE_DIR/venv
STAMP="synapse=$SYNAPSE_VERSION psycopg2-binary=$PSYCOPG2_VERSION"

if [[ -f $SYNAPSE_CACHE_DIR/.complete && $(<"$SYNAPSE_CACHE_DIR/.complete") == "$STAMP" &&
  -x $SYNAPSE_VENV/bin/python ]]; then
  echo "$SYNAPSE_VENV/bin/python"
  exit 0
fi

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Synapse needs Python 3.10+)"
mkdir -p "$SYNAPSE_CACHE_DIR"
exec 9>"$SYNAPSE_CACHE_DIR/.lock"
flock -w 600 9 || die "another synapse.sh holds $SYNAPSE_CACHE_DIR/.lock"
t=$SECONDS
log "synapse: installing matrix-synapse==$SYNAPSE_VERSION from PyPI into $SYNAPSE_VENV"
# A venv records its own absolute path, so it is built in place; an interrupted install
# has no .complete marker and is redone from scratch.
rm -rf "$SYNAPSE_VENV" "$SYNAPSE_CACHE_DIR/.complete"
"$PYTHON" -m venv "$SYNAPSE_VENV" >"$SYNAPSE_CACHE_DIR/pip.log" 2>&1 ||
  { log "synapse: python -m venv failed (Debian: apt-get install -y python3-venv)"; cat "$SYNAPSE_CACHE_DIR/pip.log" >&2; exit 1; }
if ! "$SYNAPSE_VENV/bin/pip" install -q --disable-pip-version-check \
  "matrix-synapse==$SYNAPSE_VERSION" "psycopg2-binary==$PSYCOPG2_VERSION" >>"$SYNAPSE_CACHE_DIR/pip.log" 2>&1; then
  log "synapse: pip install failed (is PyPI reachable?); last lines of $SYNAPSE_CACHE_DIR/pip.log:"
  tail -n 20 "$SYNAPSE_CACHE_DIR/pip.log" | sed 's/^/    /' >&2
  exit 1
fi
"$SYNAPSE_VENV/bin/python" -c 'import synapse, psycopg2' || die "synapse: installed, but does not import"
echo "$STAMP" >"$SYNAPSE_CACHE_DIR/.complete"
log "synapse: $SYNAPSE_VERSION ready ($((SECONDS - t))s)"
echo "$SYNAPSE_VENV/bin/python"
