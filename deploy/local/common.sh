# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Shared settings and helpers for up.sh and down.sh (sourced, not run).
# Everything here is derived from the script location and AXON_* variables, so the
# scripts work from any working directory.

AXON_LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$AXON_LOCAL_DIR/../.." && pwd)

# world_traversable DIR: can any user (here: `postgres`) reach DIR? Every ancestor needs o+x.
world_traversable() {
  local d=$1 mode
  while [[ $d != / && -n $d ]]; do
    mode=$(stat -c %a "$d" 2>/dev/null) || return 1
    (((8#$mode & 1) == 1)) || return 1
    d=$(dirname "$d")
  done
}
if [[ -n ${AXON_INFRA_DIR:-} ]]; then
  INFRA_DIR=$AXON_INFRA_DIR
elif world_traversable "$REPO_ROOT"; then
  INFRA_DIR=$REPO_ROOT/.infra
else
  # A clone under a private home (/root) cannot hold a cluster the postgres user runs:
  # keep the state in /var/tmp instead, one directory per clone.
  INFRA_DIR=/var/tmp/axon-infra-$(printf '%s' "$REPO_ROOT" | md5sum | cut -c1-12)
fi
case $INFRA_DIR in /*) ;; *) INFRA_DIR=$PWD/$INFRA_DIR ;; esac
# Written when the state directory is created; down.sh --purge refuses to delete a
# directory without it (protects against AXON_INFRA_DIR=$HOME accidents).
INFRA_MARKER=$INFRA_DIR/.axon-local-infra

PG_PORT=${AXON_PG_PORT:-5432}
REDIS_PORT=${AXON_REDIS_PORT:-6379}
KAFKA_PORT=${AXON_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${AXON_KAFKA_CONTROLLER_PORT:-9093}
for _p in "$PG_PORT" "$REDIS_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if ! [[ $_p =~ ^[0-9]+$ ]] || ((_p < 1 || _p > 65535)); then
    echo "[axon-infra] ERROR: bad port '$_p'" >&2
    exit 1
  fi
done
unset _p

PG_DIR=$INFRA_DIR/postgres
PG_DATA=$PG_DIR/data
PG_SOCKDIR=$PG_DIR/run
PG_LOG=$PG_DIR/postgres.log
PG_PIDFILE=$PG_DIR/postgres.pid

REDIS_DIR=$INFRA_DIR/redis
REDIS_LOG=$REDIS_DIR/redis.log
REDIS_PIDFILE=$REDIS_DIR/redis.pid

KAFKA_VERSION=${AXON_KAFKA_VERSION:-4.4.0}
KAFKA_DIR=$INFRA_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data
KAFKA_LOG=$KAFKA_DIR/kafka.log
KAFKA_PIDFILE=$KAFKA_DIR/kafka.pid
KAFKA_PROPS=$KAFKA_DIR/server.properties
# The jar cache lives outside the state dir so `down.sh --purge` keeps it.
KAFKA_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/axon/kafka-$KAFKA_VERSION
KAFKA_LIB=$KAFKA_CACHE_DIR/lib
KAFKA_JOPTS=${AXON_KAFKA_JOPTS:--Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=warn}
# Short-lived admin JVMs: start fast, log only errors.
KAFKA_TOOL_JOPTS="-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dorg.slf4j.simpleLogger.defaultLogLevel=error"

log() { printf '[axon-infra] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The postgres server refuses to run as root, so as root we run every PostgreSQL binary as
# the `postgres` system user (created by the Debian package); as a normal user we run them
# directly. `cd` first: the caller's cwd (e.g. /root) may be unreadable for postgres.
if ((EUID == 0)); then
  PG_OS_USER=postgres
  as_pg() { (cd "$PG_DIR" 2>/dev/null || cd /; runuser -u postgres -- "$@"); }
else
  PG_OS_USER=$(id -un)
  as_pg() { "$@"; }
fi
PG_SUPERUSER=$PG_OS_USER   # initdb's bootstrap superuser; local socket auth is `peer`

# Newest installed PostgreSQL major version's bin dir (Debian installs side by side under
# /usr/lib/postgresql/<major>/bin). An existing cluster pins its own major version.
pg_bindir() {
  if [[ -s $PG_DATA/PG_VERSION ]]; then
    local v; v=$(<"$PG_DATA/PG_VERSION")
    [[ -x /usr/lib/postgresql/$v/bin/postgres ]] ||
      die "cluster in $PG_DATA was created by PostgreSQL $v, which is not installed (install postgresql-$v, or down.sh --purge)"
    echo "/usr/lib/postgresql/$v/bin"; return
  fi
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] || return 1
  echo "$d"
}

# Something (anything) accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Alive = exists and is not a zombie (an exited child not yet reaped by init counts as
# gone; on some machines init reaps lazily).
pid_alive() {
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local st=""
  read -r st <"/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }
  [[ ${st%% *} != Z ]]
}

read_pidfile() {  # prints the pid in file $1 if it is a number
  local p=""
  [[ -s $1 ]] && read -r p <"$1" || true
  [[ $p =~ ^[0-9]+$ ]] && echo "$p"
}

cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# The pid of OUR redis, or fail. "Ours" = the pid file's process is a redis-server whose
# working directory is our redis dir (redis chdirs to --dir), so a recycled pid or
# somebody else's redis on the same port is never mistaken for ours.
redis_pid() {
  local p; p=$(read_pidfile "$REDIS_PIDFILE") || return 1
  pid_alive "$p" || return 1
  [[ $(cmdline "$p") == redis-server* && $(readlink "/proc/$p/cwd" 2>/dev/null) == "$REDIS_DIR" ]] || return 1
  echo "$p"
}

# The pid of OUR Kafka, or fail: a kafka.Kafka JVM started with our server.properties.
kafka_pid() {
  local p; p=$(read_pidfile "$KAFKA_PIDFILE") || return 1
  pid_alive "$p" || return 1
  [[ $(cmdline "$p") == *" kafka.Kafka $KAFKA_PROPS"* ]] || return 1
  echo "$p"
}

# Our PostgreSQL cluster is running (pg_ctl checks postmaster.pid in OUR data dir).
pg_running() {
  [[ -f $PG_DATA/postmaster.pid ]] || return 1
  local bin; bin=$(pg_bindir) || return 1
  as_pg "$bin/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

# SIGTERM, wait up to $3 seconds, then SIGKILL. Callers verify the pid is ours first.
stop_pid() {
  local pid=$1 name=$2 timeout=$3 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 5; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.2
  done
  log "$name (pid $pid) still running after ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  return 1
}

# Serialise up.sh/down.sh runs on the same state dir. Daemons are started with `9>&-`
# so they do not inherit the lock.
take_lock() {
  mkdir -p "$INFRA_DIR"
  exec 9>"$INFRA_DIR/.lock"
  flock -w 300 9 || die "another up.sh/down.sh holds $INFRA_DIR/.lock"
}
