#!/usr/bin/env bash
# PgBouncer in transaction-pooling mode on 127.0.0.1:6432, in front of the PostgreSQL on
# 127.0.0.1:5432, for tests of running behind a pooler. A private instance (configuration
# .ci/pgbouncer.ini, run files in /run/repo-pgbouncer, running as user postgres), not Debian's
# pgbouncer service; installs Debian's pgbouncer package if it is missing.
#   usage: .ci/pgbouncer.sh [start|stop|restart|status]     (as root; start is the default)
# start is idempotent: when PgBouncer is already up it only reloads a changed configuration.
# Clients connect to any database on the server, trust auth:
#   postgres://postgres@127.0.0.1:6432/test
#   psql -h 127.0.0.1 -p 6432 -U postgres -d pgbouncer -c 'SHOW POOLS'    (admin console)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=6432
RUN=/run/repo-pgbouncer
PIDFILE=$RUN/pgbouncer.pid
LOG=$RUN/pgbouncer.log

as_pg() { runuser -u postgres -- "$@"; }
pid() { cat "$PIDFILE" 2>/dev/null || true; }
running() { local p; p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
answers() {
  psql -h 127.0.0.1 -p "$PORT" -U postgres -d pgbouncer -XtAc 'SHOW VERSION' >/dev/null 2>&1
}
status_line() {
  echo "pgbouncer: up on 127.0.0.1:$PORT (pool_mode=transaction, pid $(pid)) -> 127.0.0.1:5432"
}
die() { echo "pgbouncer: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (PgBouncer itself runs as user postgres)"; }

stop() {
  running || { rm -f "$PIDFILE"; return 0; }
  local p; p=$(pid)
  kill -TERM "$p" 2>/dev/null || true # immediate shutdown: clients are disconnected
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$PIDFILE"
}

# Copies the configuration into the run directory (PgBouncer runs as postgres, which may not
# read the checkout); prints "changed" when the running copy differs from the checkout's.
install_config() {
  local changed=""
  install -d -o postgres -g postgres -m 0755 "$RUN"
  for f in pgbouncer.ini:pgbouncer.ini pgbouncer-userlist.txt:userlist.txt; do
    local src=$HERE/${f%%:*} dst=$RUN/${f##*:}
    if ! cmp -s "$src" "$dst"; then
      install -o postgres -g postgres -m 0640 "$src" "$dst"
      changed=changed
    fi
  done
  echo "$changed"
}

start() {
  need_root
  if ! command -v pgbouncer >/dev/null; then
    echo "pgbouncer: installing Debian's pgbouncer package"
    apt-get install -y -qq pgbouncer >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; } ||
      die "could not install pgbouncer (apt-get install -y pgbouncer)"
  fi
  local changed
  changed=$(install_config)
  if running && answers; then
    if [ -n "$changed" ]; then
      kill -HUP "$(pid)" # reload: pool settings and databases apply to new server connections
      echo "pgbouncer: configuration reloaded"
    fi
    status_line
    return 0
  fi
  stop # a stale pid file or a process that no longer answers

  # Debian's own service (if the package's install started it) listens on the same port.
  local holder
  holder=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)
  if [ -n "$holder" ] && tr '\0' ' ' <"/proc/$holder/cmdline" | grep -q '/etc/pgbouncer/pgbouncer.ini'; then
    echo "pgbouncer: stopping Debian's pgbouncer service (pid $holder), which holds port $PORT"
    systemctl stop pgbouncer 2>/dev/null || kill -INT "$holder" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
  fi
  if ss -Hltn "sport = :$PORT" | grep -q .; then
    die "port $PORT is taken by another process: $(ss -Hltnp "sport = :$PORT" | head -n 1)"
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q ||
    die "PostgreSQL on 127.0.0.1:5432 is down: start it first (.ci/run does)"

  : >"$LOG" && chown postgres:postgres "$LOG"
  as_pg pgbouncer -d "$RUN/pgbouncer.ini" ||
    die "did not start; its log $LOG says: $(tail -n 5 "$LOG")"
  for _ in $(seq 1 100); do answers && break; sleep 0.1; done
  answers || die "started but does not answer on 127.0.0.1:$PORT; its log $LOG says: $(tail -n 5 "$LOG")"
  status_line
}

# One start or stop at a time (several checkouts may run CI on one machine): the script runs
# again under flock, which holds the lock itself (-o) so that no server started here inherits it.
case "${1:-start}" in
start | stop | restart)
  if [ "${REPO_CI_LOCK_HELD:-}" != pgbouncer ]; then
    rc=0
    REPO_CI_LOCK_HELD=pgbouncer flock -o -E 75 -w 900 /run/lock/repo-ci-pgbouncer.lock "$BASH" "$0" "$@" || rc=$?
    [ "$rc" != 75 ] || die "another start or stop of pgbouncer has held its lock for 15 minutes"
    exit "$rc"
  fi
  ;;
esac

case "${1:-start}" in
start) start ;;
stop) need_root; stop; echo "pgbouncer: stopped" ;;
restart) need_root; stop; start ;;
status)
  if running && answers; then status_line; else echo "pgbouncer: down (start: .ci/pgbouncer.sh start)"; exit 1; fi ;;
*) echo "usage: $0 [start|stop|restart|status]" >&2; exit 2 ;;
esac
