#!/usr/bin/env bash
# Builds the helm CLI from source with Go (from the Go module proxy) into
# tmp/tools/bin/helm, for `npm run test:helm`. Reuses a binary already there.
# Usage: tools/deploy/install-helm.sh [version...]   (tries each in turn)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$repo/tmp/tools/bin"
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  versions=(v3.22.0 v3.21.4 v3.20.2)
fi

if [ -x "$bin/helm" ]; then
  echo "helm already present: $("$bin/helm" version --short)"
  exit 0
fi

if ! command -v go > /dev/null; then
  echo "install-helm: 'go' is not on PATH (needed to build helm)" >&2
  exit 1
fi

mkdir -p "$bin"
for version in "${versions[@]}"; do
  echo "building helm $version with $(go version)"
  start=$(date +%s)
  if GOBIN="$bin" CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$version"; then
    echo "helm $version built in $(( $(date +%s) - start ))s: $("$bin/helm" version --short)"
    exit 0
  fi
  echo "install-helm: helm $version failed after $(( $(date +%s) - start ))s" >&2
done
echo "install-helm: no version could be built" >&2
exit 1
