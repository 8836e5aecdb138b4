#!/usr/bin/env bash
# Install (if needed) matrix-nio from PyPI into a venv in the cache dir, and print the
# venv's python on stdout. The pins are tools/clients/nio/requirements.txt (matrix-nio and
# every dependency, without the e2e extra: the scenarios do not encrypt); the venv lives in
# ${XDG_CACHE_HOME:-~/.cache}/axon/clients-nio-<hash of the pins and python>/venv, so a
# changed pin gets a new venv and a second call needs no network.
#   AXON_PYTHON   default python3 (3.10+)
set -euo pipefail

# shellcheck source=../../deploy/local/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../deploy/local/common.sh"

PYTHON=${AXON_PYTHON:-python3}
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (matrix-nio needs Python 3.10+)"
REQUIREMENTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/nio" && pwd)/requirements.txt
KEY=$({ cat "$REQUIREMENTS"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-12)
NIO_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/axon/clients-nio-$KEY
NIO_VENV=$NIO_CACHE_DIR/venv

if [[ -f $NIO_CACHE_DIR/.complete && -x $NIO_VENV/bin/python ]]; then
  echo "$NIO_VENV/bin/python"
  exit 0
fi

mkdir -p "$NIO_CACHE_DIR"
exec 9>"$NIO_CACHE_DIR/.lock"
flock -w 600 9 || die "another nio-venv.sh holds $NIO_CACHE_DIR/.lock"
if [[ -f $NIO_CACHE_DIR/.complete && -x $NIO_VENV/bin/python ]]; then # installed while we waited
  echo "$NIO_VENV/bin/python"
  exit 0
fi
t=$SECONDS
log "clients: installing matrix-nio ($(grep -i '^matrix-nio==' "$REQUIREMENTS")) from PyPI into $NIO_VENV"
# A venv records its own absolute path, so it is built in place; an interrupted install
# has no .complete marker and is redone from scratch.
rm -rf "$NIO_VENV" "$NIO_CACHE_DIR/.complete"
"$PYTHON" -m venv "$NIO_VENV" >"$NIO_CACHE_DIR/pip.log" 2>&1 ||
  { log "clients: python -m venv failed (Debian: apt-get install -y python3-venv)"; cat "$NIO_CACHE_DIR/pip.log" >&2; exit 1; }
if ! "$NIO_VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$REQUIREMENTS" >>"$NIO_CACHE_DIR/pip.log" 2>&1; then
  log "clients: pip install failed (is PyPI reachable?); last lines of $NIO_CACHE_DIR/pip.log:"
  tail -n 20 "$NIO_CACHE_DIR/pip.log" | sed 's/^/    /' >&2
  exit 1
fi
"$NIO_VENV/bin/python" -c 'import nio' || die "clients: matrix-nio installed, but does not import"
cp "$REQUIREMENTS" "$NIO_CACHE_DIR/.complete"
log "clients: matrix-nio ready ($((SECONDS - t))s)"
echo "$NIO_VENV/bin/python"
