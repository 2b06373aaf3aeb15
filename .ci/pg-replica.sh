#!/usr/bin/env bash
# A PostgreSQL streaming replica (hot standby) of the local server 127.0.0.1:5432 on
# 127.0.0.1:5433, for tests of read-replica routing and read-your-writes. Its data directory is
# /var/lib/postgresql/<version>/replica (seeded with pg_basebackup, reseeded when it can no
# longer catch up); it runs as user postgres with a small configuration of its own.
#   usage: .ci/pg-replica.sh [start|stop [fast|immediate]|restart|status|delay <ms>|reseed]
#     start        idempotent; quick when the replica is already up (the default)
#     stop         fast shutdown; `stop immediate` kills it as a crash would (for tests of a
#                  replica dying mid-run); `start` brings it back and it catches up
#     delay <ms>   replay WAL no sooner than <ms> after the primary committed it
#                  (recovery_min_apply_delay, kept across restarts); `delay 0` clears it
#     reseed       throw the replica's data away and copy the primary again
# Clients: postgres://postgres@127.0.0.1:5433/test (read only, trust auth). Positions:
#   primary: SELECT pg_current_wal_lsn()   replica: SELECT pg_last_wal_replay_lsn()
set -euo pipefail
PORT=${REPLICA_PORT:-5433}
VER=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
BIN=/usr/lib/postgresql/$VER/bin
DATA=${REPLICA_DATA:-/var/lib/postgresql/$VER/replica}
HBA=/etc/postgresql/$VER/main/pg_hba.conf
LOG=$DATA/replica.log

as_pg() { runuser -u postgres -- "$@"; }
die() { echo "pg-replica: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (the replica itself runs as user postgres)"; }
up() { pg_isready -h 127.0.0.1 -p "$PORT" -q; }
primary_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
on_replica() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -XtAc "$1"; }
on_primary() { psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -XtAc "$1"; }
server_running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

status_line() {
  local row
  row=$(on_replica "SELECT pg_is_in_recovery(), coalesce((SELECT status FROM pg_stat_wal_receiver), 'no receiver'),
    current_setting('recovery_min_apply_delay'), pg_last_wal_replay_lsn()" 2>/dev/null) || return 1
  IFS='|' read -r recovery receiver delay lsn <<<"$row"
  [ "$recovery" = t ] || { echo "pg-replica: 127.0.0.1:$PORT is up but not in recovery (promoted?)"; return 1; }
  echo "pg-replica: up on 127.0.0.1:$PORT (hot standby of 127.0.0.1:5432, receiver $receiver, replay delay $delay, replayed $lsn)"
  [ "$receiver" = streaming ]
}

stop() {
  local mode=${1:-fast}
  case "$mode" in fast | immediate) ;; *) die "stop mode is fast or immediate, not $mode" ;; esac
  if server_running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m "$mode" -w stop >/dev/null; fi
}

# The replica's own configuration: Debian keeps the primary's under /etc, so a base backup has
# none. Settings a hot standby must not have below the primary's are copied from the primary.
write_config() {
  local tmp settings
  settings=$(on_primary "SELECT string_agg(name || ' = ' || setting, E'\n' ORDER BY name) FROM pg_settings
    WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders',
                   'max_prepared_transactions', 'max_locks_per_transaction')")
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Written by .ci/pg-replica.sh: rewritten on every start.
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
hba_file = '$HBA'
cluster_name = 'repo-replica'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 64MB
autovacuum = off
log_line_prefix = '%m [%p] '
# Not below the primary's:
$settings
EOF
  if ! cmp -s "$tmp" "$DATA/postgresql.conf"; then
    install -o postgres -g postgres -m 0600 "$tmp" "$DATA/postgresql.conf"
  fi
  rm -f "$tmp"
}

seed() {
  # Replication connections need their own pg_hba line on the primary.
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$HBA"; then
    echo "host replication all 127.0.0.1/32 trust" >>"$HBA"
    on_primary "SELECT pg_reload_conf()" >/dev/null
  fi
  echo "pg-replica: copying the primary into $DATA (pg_basebackup)"
  rm -rf "$DATA"
  install -d -o postgres -g postgres -m 0700 "$DATA"
  # -R writes primary_conninfo and standby.signal.
  as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p 5432 -U postgres -D "$DATA" -R -X stream -c fast ||
    die "pg_basebackup from 127.0.0.1:5432 failed"
}

# Waits for the replica to stream from the primary: 0 when it does, 2 as soon as its log says
# the primary recycled WAL it still needs (stopped for too long), 1 when it does not in time.
wait_streaming() {
  for _ in $(seq 1 "$1"); do
    [ "$(on_replica "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = streaming ] && return 0
    grep -q 'has already been removed' "$LOG" && return 2
    sleep 0.1
  done
  return 1
}

start() {
  need_root
  if up && status_line >/dev/null 2>&1; then status_line; return 0; fi
  primary_up || die "the primary 127.0.0.1:5432 is down: start it first (.ci/run does)"
  [ -f "$DATA/PG_VERSION" ] || seed
  for attempt in 1 2; do
    if ! up; then
      write_config
      : >"$LOG" && chown postgres:postgres "$LOG"
      as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null ||
        die "did not start; $LOG says: $(tail -n 5 "$LOG")"
    fi
    local waited=0
    wait_streaming 300 || waited=$?
    [ "$waited" = 0 ] && { status_line; return 0; }
    if [ "$waited" = 2 ] && [ "$attempt" = 1 ]; then
      echo "pg-replica: the primary no longer has the WAL the replica needs: reseeding"
      stop fast
      seed
      continue
    fi
    break
  done
  die "up on 127.0.0.1:$PORT but not streaming from the primary; $LOG says: $(tail -n 5 "$LOG")"
}

set_delay() {
  local ms=${1:?usage: pg-replica.sh delay <milliseconds>}
  [[ "$ms" =~ ^[0-9]+$ ]] || die "delay is a whole number of milliseconds, not $ms"
  up || die "the replica is down: .ci/pg-replica.sh start"
  if [ "$ms" = 0 ]; then
    on_replica "ALTER SYSTEM RESET recovery_min_apply_delay" >/dev/null
  else
    on_replica "ALTER SYSTEM SET recovery_min_apply_delay = '${ms}ms'" >/dev/null
  fi
  on_replica "SELECT pg_reload_conf()" >/dev/null
  # The reload is asynchronous: wait until new connections see the value.
  for _ in $(seq 1 50); do
    [ "$(on_replica "SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'")" = "$ms" ] && break
    sleep 0.1
  done
  echo "pg-replica: recovery_min_apply_delay = $(on_replica "SHOW recovery_min_apply_delay")"
}

# One start or stop at a time (several checkouts may run CI on one machine): the script runs
# again under flock, which holds the lock itself (-o) so that no server started here inherits it.
case "${1:-start}" in
start | stop | restart | reseed)
  if [ "${REPO_CI_LOCK_HELD:-}" != pg-replica ]; then
    rc=0
    REPO_CI_LOCK_HELD=pg-replica flock -o -E 75 -w 900 /run/lock/repo-ci-pg-replica.lock "$BASH" "$0" "$@" || rc=$?
    [ "$rc" != 75 ] || die "another start or stop of pg-replica has held its lock for 15 minutes"
    exit "$rc"
  fi
  ;;
esac

case "${1:-start}" in
start) start ;;
stop) need_root; stop "${2:-fast}"; echo "pg-replica: stopped" ;;
restart) need_root; stop fast; start ;;
status) up || { echo "pg-replica: down (start: .ci/pg-replica.sh start)"; exit 1; }; status_line ;;
delay) set_delay "${2:-}" ;;
reseed) need_root; stop fast; primary_up || die "the primary 127.0.0.1:5432 is down"; seed; start ;;
*) echo "usage: $0 [start|stop [fast|immediate]|restart|status|delay <ms>|reseed]" >&2; exit 2 ;;
esac
