#!/usr/bin/env bash
# Connection settings for the services started by deploy/local/up.sh.
#   source deploy/local/env.sh          # bash: exports the variables into this shell
#   deploy/local/env.sh                 # prints KEY=value lines (e.g. for a .env file)
#   eval "$(deploy/local/env.sh --export)"   # any POSIX shell
# Honours the same AXON_*_PORT overrides as up.sh. No `set -e` here: when sourced it
# would change the caller's shell.

_axon_env() {
  local pg=${AXON_PG_PORT:-5432} redis=${AXON_REDIS_PORT:-6379} kafka=${AXON_KAFKA_PORT:-9092}
  printf '%s\n' \
    "AXON_DATABASE_URL=postgres://axon:axon@127.0.0.1:$pg/axon" \
    "AXON_REDIS_URL=redis://127.0.0.1:$redis" \
    "AXON_KAFKA_BROKERS=127.0.0.1:$kafka"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  # Sourced: export into the caller's shell.
  while IFS= read -r _axon_line; do
    export "${_axon_line?}"
  done < <(_axon_env)
  unset _axon_line
  unset -f _axon_env
else
  case ${1:-} in
    --export) _axon_env | sed 's/^/export /' ;;
    "") _axon_env ;;
    *) echo "usage: $0 [--export]   (or: source $0)" >&2; exit 2 ;;
  esac
fi
