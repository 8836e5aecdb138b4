#!/usr/bin/env bash
# Stop the PostgreSQL, Redis and Kafka processes that deploy/local/up.sh started, and
# nothing else: each process is identified by the pid file up.sh wrote AND by checking
# that the process really is ours (a recycled pid is left alone). Data is kept, so the
# next up.sh restarts from it.
#   deploy/local/down.sh            stop
#   deploy/local/down.sh --purge    stop, then delete the state dir (the Kafka jar cache
#                                   in ~/.cache/axon is kept)
#   deploy/local/down.sh --only kafka|redis|postgres
#                                   stop that one (the fault tests restart a broker or the
#                                   database this way; up.sh starts it again)
# Safe to run repeatedly.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PURGE=""
ONLY=""
case ${1:-} in
  --purge) PURGE=1 ;;
  --only)
    case ${2:-} in
      kafka | redis | postgres) ONLY=$2 ;;
      *) echo "usage: $0 --only kafka|redis|postgres" >&2; exit 2 ;;
    esac
    ;;
  "") ;;
  *) echo "usage: $0 [--purge | --only kafka|redis|postgres]" >&2; exit 2 ;;
esac

if [[ ! -d $INFRA_DIR ]]; then
  log "nothing to stop: $INFRA_DIR does not exist"
  exit 0
fi
take_lock

FAILED=""

stop_kafka() {
  local pid
  if pid=$(kafka_pid); then
    log "kafka: stopping pid $pid (SIGTERM, SIGKILL after 30s)"
    # A controlled shutdown of a single node takes a few seconds.
    stop_pid "$pid" kafka 30 || { log "kafka: pid $pid did not exit"; FAILED=1; return; }
    log "kafka: stopped"
  elif [[ -e $KAFKA_PIDFILE ]]; then
    log "kafka: stale pid file (process gone or not ours), removing it"
  else
    log "kafka: not running"
  fi
  rm -f "$KAFKA_PIDFILE"
}

stop_redis() {
  local pid
  if pid=$(redis_pid); then
    log "redis: stopping pid $pid"
    # SIGTERM = orderly SHUTDOWN; with --save "" and no AOF nothing is written.
    stop_pid "$pid" redis 10 || { log "redis: pid $pid did not exit"; FAILED=1; return; }
    log "redis: stopped"
  elif [[ -e $REDIS_PIDFILE ]]; then
    log "redis: stale pid file (process gone or not ours), removing it"
  else
    log "redis: not running"
  fi
  rm -f "$REDIS_PIDFILE"
}

stop_postgres() {
  if pg_running; then
    local bin; bin=$(pg_bindir)
    log "postgres: stopping pid $(head -n 1 "$PG_DATA/postmaster.pid") (pg_ctl stop -m fast)"
    # pg_ctl only signals the postmaster recorded in OUR data dir's postmaster.pid.
    if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null; then
      log "postgres: pg_ctl stop failed"; FAILED=1; return
    fi
    log "postgres: stopped"
  elif [[ -e $PG_PIDFILE ]]; then
    log "postgres: stale pid file, removing it"
  else
    log "postgres: not running"
  fi
  rm -f "$PG_PIDFILE"
}

if [[ -n $ONLY ]]; then
  "stop_$ONLY"
  [[ -z $FAILED ]] || die "$ONLY did not stop"
  log "done ($ONLY stopped)"
  exit 0
fi

# Kafka first: it is the slowest to stop, and nothing else depends on it.
stop_kafka
stop_redis
stop_postgres

if [[ -n $FAILED ]]; then
  die "some processes did not stop; state dir left in place"
fi

if [[ -n $PURGE ]]; then
  [[ -f $INFRA_MARKER ]] || die "refusing to purge $INFRA_DIR: no $INFRA_MARKER (not created by up.sh?)"
  log "purging $INFRA_DIR (jar cache $KAFKA_CACHE_DIR is kept)"
  rm -rf -- "$INFRA_DIR"
fi
log "done"
