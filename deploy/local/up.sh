#!/usr/bin/env bash
# Install (if needed) and start PostgreSQL, Redis and Kafka for local development/tests,
# all bound to 127.0.0.1, all state under $AXON_INFRA_DIR (default <repo>/.infra).
# Idempotent: services that are already running (started by an earlier up.sh) are left
# alone and only re-checked. Stop everything with deploy/local/down.sh.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

T0=$SECONDS
trap 'rc=$?; ((rc == 0)) || log "up.sh failed (exit $rc); deploy/local/down.sh stops whatever did start"' EXIT

# ---------------------------------------------------------------------------------------
# Generic wait: poll "$@" until it succeeds. Fails after $1 seconds, or at once if the
# process $4 (optional) has died, printing the tail of the service log $3.
wait_until() {
  local timeout=$1 what=$2 logfile=$3 pid=$4
  shift 4
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      log "$what: the process (pid $pid) exited"
      fail_with_log "$logfile"
    fi
    if ((SECONDS >= deadline)); then
      log "$what: not ready after ${timeout}s"
      fail_with_log "$logfile"
    fi
    sleep 0.5
  done
}

fail_with_log() {
  if [[ -s $1 ]]; then
    log "last lines of $1:"
    tail -n 40 "$1" | sed 's/^/    /' >&2
  fi
  exit 1
}

# Refuse to start on a port somebody else already uses (e.g. a system postgres on 5432):
# we would fail anyway, and silently using their server would be worse.
require_free_port() {
  if port_open "$1"; then
    die "127.0.0.1:$1 is already in use by a process up.sh did not start ($2). Stop it, or pick another port with $3=<port>. (ss -ltnp 'sport = :$1' shows who)"
  fi
}

# ---------------------------------------------------------------------------------------
# Packages. Only touch apt when something is missing, so warm runs need no network.
ensure_packages() {
  local missing=()
  pg_bindir >/dev/null 2>&1 && command -v psql >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
  command -v java >/dev/null || missing+=(default-jre-headless)
  # Maven and javac are only needed to fill the jar cache.
  if ! kafka_cache_complete; then
    command -v mvn >/dev/null || missing+=(maven)
    command -v javac >/dev/null || missing+=(default-jdk-headless)
  fi
  ((${#missing[@]})) || return 0

  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root; install them: apt-get install -y ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing ${missing[*]} (apt-get update + install)"
  # Keep the packaged services from starting (a system postgres/redis would occupy the
  # default ports). Debian's invoke-rc.d and deb-systemd-invoke honour policy-rc.d; we only
  # create one if none exists, and remove it again afterwards.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, created by axon deploy/local/up.sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } || rc=$?
  [[ -z $created_policy ]] || "${sudo[@]}" rm -f "$policy"
  ((rc == 0)) || die "apt-get failed (exit $rc)"
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: our own cluster (initdb) in the state dir, never the system cluster, so
# down.sh can stop exactly what we started.
prepare_postgres_dir() {
  # The state dir may live anywhere; the postgres user must be able to reach it.
  mkdir -p "$PG_DIR"
  if ((EUID == 0)); then chown postgres:postgres "$PG_DIR"; fi
  chmod 700 "$PG_DIR"
  as_pg test -w "$PG_DIR" ||
    die "user '$PG_OS_USER' cannot write $PG_DIR (a parent directory is not traversable?). Set AXON_INFRA_DIR to e.g. /var/tmp/axon-infra"
  as_pg mkdir -p "$PG_SOCKDIR"
}

start_postgres() {
  local bin; bin=$(pg_bindir) || die "no PostgreSQL server binaries under /usr/lib/postgresql"
  local t=$SECONDS
  if pg_running; then
    local running_port
    running_port=$(sed -n 4p "$PG_DATA/postmaster.pid")
    [[ $running_port == "$PG_PORT" ]] ||
      die "our PostgreSQL is already running on port $running_port, not $PG_PORT; run down.sh first to change ports"
    log "postgres: already running (pid $(head -n 1 "$PG_DATA/postmaster.pid"), port $PG_PORT)"
  else
    if [[ ! -s $PG_DATA/PG_VERSION ]]; then
      log "postgres: initdb ($(basename "$(dirname "$bin")")) in $PG_DATA"
      # C locale: byte-order collation, as Synapse-style Matrix schemas expect; UTF8 text.
      as_pg "$bin/initdb" -D "$PG_DATA" -U "$PG_SUPERUSER" --encoding=UTF8 --locale=C \
        --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
        { log "initdb failed"; fail_with_log "$PG_DIR/initdb.log"; }
      # Our settings live in axon.conf, rewritten on every start (so port overrides apply).
      echo "include_if_exists = 'axon.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
    fi
    # TEST-ONLY durability settings: fsync off etc. make a crash lose data; fine for a
    # throwaway test database, never for anything that matters.
    as_pg tee "$PG_DATA/axon.conf" >/dev/null <<EOF
# Written by deploy/local/up.sh on every start; edits are lost.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
# %d: a statement logged by a database with log_statement set (tools/bench/lib/statement-log.mjs
# counts statements per send that way) names its database; the rest is the default prefix.
log_line_prefix = '%m [%p] %q%d '
EOF
    require_free_port "$PG_PORT" "postgres" AXON_PG_PORT
    # pg_ctl -w waits until the server accepts connections; its own process detaches.
    rm -f "$PG_PIDFILE"
    # 9>&-: the daemon must not inherit (and so hold forever) our lock fd.
    if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null 9>&-; then
      log "postgres: pg_ctl start failed"
      fail_with_log "$PG_LOG"
    fi
    log "postgres: started on 127.0.0.1:$PG_PORT"
  fi
  # A copy of the postmaster pid, for humans and down.sh (pg_ctl uses data/postmaster.pid).
  head -n 1 "$PG_DATA/postmaster.pid" >"$PG_PIDFILE"

  wait_until 30 "postgres (pg_isready)" "$PG_LOG" "" \
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2

  # Role and database for the application/tests, created only if absent. Superuser so
  # tests may create scratch databases and extensions.
  as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKDIR" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres <<'SQL' >/dev/null
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'axon') THEN
    CREATE ROLE axon LOGIN SUPERUSER PASSWORD 'axon';
  END IF;
END
$$;
SELECT 'CREATE DATABASE axon OWNER axon' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'axon')
\gexec
SQL
  # Real readiness: what the application does (TCP + password + our database).
  wait_until 30 "postgres (select 1 as axon)" "$PG_LOG" "" \
    env PGPASSWORD=axon "$bin/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" -U axon -d axon -c 'select 1'
  log "postgres: ready ($((SECONDS - t))s)"
}

# ---------------------------------------------------------------------------------------
start_redis() {
  local t=$SECONDS pid
  mkdir -p "$REDIS_DIR"
  if pid=$(redis_pid); then
    [[ $(cmdline "$pid") == *":$REDIS_PORT"* ]] ||
      die "our redis (pid $pid) runs on another port than $REDIS_PORT; run down.sh first to change ports"
    log "redis: already running (pid $pid, port $REDIS_PORT)"
  else
    rm -f "$REDIS_PIDFILE"
    require_free_port "$REDIS_PORT" "redis" AXON_REDIS_PORT
    # No persistence at all: the test cache is disposable.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
      --save "" --appendonly no --dir "$REDIS_DIR" \
      --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" 9>&- ||
      { log "redis: redis-server failed to start"; fail_with_log "$REDIS_LOG"; }
    wait_until 20 "redis (pid file)" "$REDIS_LOG" "" redis_pid
    log "redis: started on 127.0.0.1:$REDIS_PORT (pid $(redis_pid))"
  fi
  # shellcheck disable=SC2016
  wait_until 20 "redis (PING)" "$REDIS_LOG" "$(redis_pid || true)" \
    bash -c '[[ $(redis-cli -h 127.0.0.1 -p "$1" ping) == PONG ]]' _ "$REDIS_PORT"
  log "redis: ready ($((SECONDS - t))s)"
}

# ---------------------------------------------------------------------------------------
# Kafka jars come from Maven Central via kafka/pom.xml and are cached per version, with
# the compiled readiness probe; the marker records which pom/probe source produced them,
# so a warm start runs neither Maven nor javac.
kafka_cache_stamp() {
  echo "kafka=$KAFKA_VERSION $(cat "$AXON_LOCAL_DIR/kafka/pom.xml" "$AXON_LOCAL_DIR/kafka/KafkaReady.java" | sha256sum | cut -d' ' -f1)"
}
kafka_cache_complete() { [[ -f $KAFKA_CACHE_DIR/.complete && $(<"$KAFKA_CACHE_DIR/.complete") == "$(kafka_cache_stamp)" ]]; }

ensure_kafka_jars() {
  if kafka_cache_complete; then
    log "kafka: jars cached in $KAFKA_LIB"
    return
  fi
  local t=$SECONDS
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into $KAFKA_LIB"
  mkdir -p "$KAFKA_CACHE_DIR"
  # Run Maven on a copy in the cache dir so nothing (target/) lands in the repository.
  cp "$AXON_LOCAL_DIR/kafka/pom.xml" "$KAFKA_CACHE_DIR/pom.xml"
  rm -rf "$KAFKA_CACHE_DIR/lib.tmp"
  if ! mvn -B -q -Dstyle.color=never -f "$KAFKA_CACHE_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_CACHE_DIR/lib.tmp" >"$KAFKA_CACHE_DIR/mvn.log" 2>&1; then
    log "Maven could not resolve Kafka $KAFKA_VERSION (4.0.0 to 4.4.0 are served here; AXON_KAFKA_VERSION selects one)"
    fail_with_log "$KAFKA_CACHE_DIR/mvn.log"
  fi
  rm -rf "$KAFKA_CACHE_DIR/classes"
  javac -nowarn -cp "$KAFKA_CACHE_DIR/lib.tmp/*" -d "$KAFKA_CACHE_DIR/classes" \
    "$AXON_LOCAL_DIR/kafka/KafkaReady.java" || die "javac failed on kafka/KafkaReady.java"
  # Swap in, then mark complete: an interrupted run is simply redone.
  rm -rf "$KAFKA_LIB"
  mv "$KAFKA_CACHE_DIR/lib.tmp" "$KAFKA_LIB"
  kafka_cache_stamp >"$KAFKA_CACHE_DIR/.complete"
  local jars=("$KAFKA_LIB"/*.jar)
  log "kafka: ${#jars[@]} jars cached ($((SECONDS - t))s)"
}

render_kafka_config() {
  local tmp=$KAFKA_PROPS.tmp
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" \
    "$AXON_LOCAL_DIR/kafka/server.properties.template" >"$tmp"
  mv "$tmp" "$KAFKA_PROPS"
}

# Admin-client probe (kafka/KafkaReady.java): describe cluster + list topics.
kafka_ready() {
  # shellcheck disable=SC2086
  timeout 30 java $KAFKA_TOOL_JOPTS -cp "$KAFKA_LIB/*:$KAFKA_CACHE_DIR/classes" KafkaReady "127.0.0.1:$KAFKA_PORT"
}

# Starts Kafka without waiting for it (the JVM boots while postgres and redis start);
# wait_kafka does the waiting.
start_kafka() {
  local pid
  KAFKA_T0=$SECONDS
  mkdir -p "$KAFKA_DIR"
  if pid=$(kafka_pid); then
    grep -qx "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" "$KAFKA_PROPS" ||
      die "our Kafka (pid $pid) runs with other ports than $KAFKA_PORT/$KAFKA_CONTROLLER_PORT; run down.sh first to change ports"
    log "kafka: already running (pid $pid, port $KAFKA_PORT)"
    return
  fi
  rm -f "$KAFKA_PIDFILE"
  ensure_kafka_jars
  require_free_port "$KAFKA_PORT" "kafka" AXON_KAFKA_PORT
  require_free_port "$KAFKA_CONTROLLER_PORT" "kafka controller" AXON_KAFKA_CONTROLLER_PORT
  render_kafka_config

  # KRaft storage must be formatted exactly once; meta.properties marks a formatted dir.
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local id
    # shellcheck disable=SC2086
    id=$(java $KAFKA_TOOL_JOPTS -cp "$KAFKA_LIB/*" kafka.tools.StorageTool random-uuid)
    log "kafka: formatting $KAFKA_DATA (cluster id $id)"
    # shellcheck disable=SC2086
    java $KAFKA_TOOL_JOPTS -cp "$KAFKA_LIB/*" kafka.tools.StorageTool format \
      -t "$id" -c "$KAFKA_PROPS" >"$KAFKA_DIR/format.log" 2>&1 ||
      { log "kafka: storage format failed"; fail_with_log "$KAFKA_DIR/format.log"; }
  fi

  # setsid: own session, so a Ctrl-C in this terminal does not reach the broker. The pid
  # file is written by the shell that then execs java, so it is exactly the JVM's pid.
  # shellcheck disable=SC2016,SC2086
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
    java $KAFKA_JOPTS -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_PROPS" \
    </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  wait_until 5 "kafka (pid file)" "$KAFKA_LOG" "" test -s "$KAFKA_PIDFILE"
  log "kafka: starting on 127.0.0.1:$KAFKA_PORT (pid $(read_pidfile "$KAFKA_PIDFILE"))"
}

wait_kafka() {
  local pid; pid=$(read_pidfile "$KAFKA_PIDFILE")
  wait_until 120 "kafka (port $KAFKA_PORT)" "$KAFKA_LOG" "$pid" port_open "$KAFKA_PORT"
  # Real readiness: an admin request (list topics) answered by the broker.
  wait_until 120 "kafka (admin: list topics)" "$KAFKA_LOG" "$pid" kafka_ready
  log "kafka: ready ($((SECONDS - KAFKA_T0))s)"
}

# ---------------------------------------------------------------------------------------
take_lock        # one up.sh/down.sh at a time per state dir
ensure_packages
[[ -f $INFRA_MARKER ]] || echo "state of deploy/local/up.sh; remove with deploy/local/down.sh --purge" >"$INFRA_MARKER"
log "state dir: $INFRA_DIR"

# Preflight, before starting anything: fail fast instead of leaving half a stack running.
prepare_postgres_dir
pg_running || require_free_port "$PG_PORT" "postgres" AXON_PG_PORT
redis_pid >/dev/null || require_free_port "$REDIS_PORT" "redis" AXON_REDIS_PORT
if ! kafka_pid >/dev/null; then
  require_free_port "$KAFKA_PORT" "kafka" AXON_KAFKA_PORT
  require_free_port "$KAFKA_CONTROLLER_PORT" "kafka controller" AXON_KAFKA_CONTROLLER_PORT
fi

start_kafka      # slowest to boot: start first, wait last
start_postgres
start_redis
wait_kafka

log "all services ready in $((SECONDS - T0))s"
"$AXON_LOCAL_DIR/env.sh"
