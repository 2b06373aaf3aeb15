#!/usr/bin/env bash
# A PostgreSQL high-availability formation with pg_auto_failover, for tests of libpq multi-host
# URLs and primary failover: a monitor on 127.0.0.1:5440 and two nodes on 127.0.0.1:5441 and
# 127.0.0.1:5442 (a primary and a hot standby with synchronous replication), trust auth on
# loopback. Data and logs under /var/lib/postgresql/<version>/paf; every process runs as user
# postgres, one `pg_autoctl run` per node. Installs Debian's postgresql-<version>-auto-failover
# if pg_autoctl is missing.
#   usage: .ci/pg-auto-failover.sh [start|stop|status|show|primary|failover|kill-primary]
#     start         idempotent; quick when all three are up (the default)
#     status        one line; exit 1 unless there is a primary and a secondary
#     show          the monitor's table of nodes (pg_autoctl show state)
#     primary       prints the port of the primary as the monitor sees it (exit 1 when none)
#     failover      planned failover: the secondary becomes the primary (waits until done)
#     kill-primary  unplanned failure: stops the primary's node (pg_autoctl and Postgres,
#                   immediate mode) and the monitor promotes the secondary after about 15 s;
#                   `start` brings the node back as a secondary
# Clients follow the primary with a libpq multi-host URL:
#   postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442/postgres?target_session_attrs=read-write
set -euo pipefail
VER=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
BIN=/usr/lib/postgresql/$VER/bin
BASE=${PAF_DATA:-/var/lib/postgresql/$VER/paf}
MONITOR_PORT=5440
NODE_PORTS=(5441 5442)
MONITOR="postgres://autoctl_node@127.0.0.1:$MONITOR_PORT/pg_auto_failover?sslmode=disable"

# pg_autoctl keeps configuration, state and pid files under the XDG directories: they live
# here too, so that removing $BASE forgets a formation entirely.
RUNDIR=/run/repo-pg-auto-failover
as_pg() {
  # From `/`: a keeper started here outlives the checkout that started it, and the servers it
  # starts later (after a failover) cannot start in a working directory that is gone.
  (cd / && runuser -u postgres -- env PATH="$BIN:$PATH" XDG_CONFIG_HOME="$BASE/config" \
    XDG_DATA_HOME="$BASE/state" XDG_RUNTIME_DIR="$RUNDIR" "$@")
}
die() { echo "pg-auto-failover: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (the servers themselves run as user postgres)"; }
up() { pg_isready -h 127.0.0.1 -p "$1" -q; }
on_monitor() { psql -h 127.0.0.1 -p "$MONITOR_PORT" -U postgres -d pg_auto_failover -XtAc "$1"; }
# The pid of the pg_autoctl service of a node (monitor, node1, node2), if it runs.
keeper_pid() {
  local p
  p=$(head -n 1 "$RUNDIR/pg_autoctl$BASE/$1/pg_autoctl.pid" 2>/dev/null || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$p"; fi
}
keeper_running() { [ -n "$(keeper_pid "$1")" ]; }
keeper_stopped() { [ -z "$(keeper_pid "$1")" ]; }

log_for() { # <name>: its log file, owned by postgres
  [ -f "$BASE/$1.log" ] || install -o postgres -g postgres -m 0644 /dev/null "$BASE/$1.log"
  chown postgres:postgres "$BASE/$1.log"
}
run_keeper() { # <name>: starts `pg_autoctl run` for an existing node in the background
  log_for "$1"
  as_pg sh -c "nohup pg_autoctl run --pgdata '$BASE/$1' >>'$BASE/$1.log' 2>&1 </dev/null &"
}

# "<port> <reported state>|..." of the data nodes, in port order, from the monitor.
node_states() {
  on_monitor "SELECT string_agg(nodeport || ' ' || reportedstate, '|' ORDER BY nodeport)
    FROM pgautofailover.node WHERE formationid = 'default'" 2>/dev/null
}
primary_port() {
  on_monitor "SELECT primary_port FROM pgautofailover.get_primary('default', 0)" 2>/dev/null
}
# A primary and a secondary, each in the state the monitor assigned, with Postgres running
# and found healthy by a health check the monitor ran since it started.
settled() {
  [ "$(on_monitor "SELECT count(*) FROM pgautofailover.node WHERE formationid = 'default'
    AND reportedstate = goalstate AND reportedstate IN ('primary', 'secondary')
    AND reportedpgisrunning AND health = 1 AND healthchecktime > pg_postmaster_start_time()" 2>/dev/null)" = 2 ]
}
status_line() {
  local p
  p=$(primary_port || true)
  echo "pg-auto-failover: monitor 127.0.0.1:$MONITOR_PORT, nodes $(node_states || echo '?'), primary ${p:-none}"
  settled
}

set_read_only() { # <port> on|reset: default_transaction_read_only of that node, reloaded
  local value="SET default_transaction_read_only = on"
  [ "$2" = reset ] && value="RESET default_transaction_read_only"
  psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -Xq -c "ALTER SYSTEM $value" \
    -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
wait_for() { # <seconds> <command...>: runs the command until it succeeds, at most that long
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# The monitor's failure detection, shortened for tests: with the defaults (20 s before a node
# is unhealthy, 30 s for an unreachable primary to demote itself) a primary that dies is
# replaced after about 50 s; with these, in about 15 s.
MONITOR_SETTINGS=(
  pgautofailover.health_check_period=2000
  pgautofailover.health_check_timeout=2000
  pgautofailover.health_check_max_retries=2
  pgautofailover.health_check_retry_delay=1000
  pgautofailover.node_considered_unhealthy_timeout=6000
  pgautofailover.primary_demote_timeout=6000
)
tune_monitor() {
  local kv changed=""
  for kv in "${MONITOR_SETTINGS[@]}"; do
    if [ "$(on_monitor "SELECT setting FROM pg_settings WHERE name = '${kv%%=*}'")" != "${kv#*=}" ]; then
      on_monitor "ALTER SYSTEM SET ${kv%%=*} = ${kv#*=}" >/dev/null
      changed=1
    fi
  done
  if [ -n "$changed" ]; then on_monitor "SELECT pg_reload_conf()" >/dev/null; fi
}

# A new formation: the monitor, then the first node (the primary), then the second, a copy
# of the first.
create() {
  log_for monitor
  as_pg pg_autoctl create monitor --pgdata "$BASE/monitor" --pgctl "$BIN/pg_ctl" \
    --pgport "$MONITOR_PORT" --hostname 127.0.0.1 --auth trust --no-ssl \
    >>"$BASE/monitor.log" 2>&1 || die "could not create the monitor; $BASE/monitor.log says: $(tail -n 5 "$BASE/monitor.log")"
  # Loopback only, as the nodes (the monitor has no --listen).
  as_pg pg_autoctl config set --pgdata "$BASE/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
  run_keeper monitor
  wait_for 30 up "$MONITOR_PORT" || die "the monitor is not up on 127.0.0.1:$MONITOR_PORT; $BASE/monitor.log says: $(tail -n 5 "$BASE/monitor.log")"
  local n port
  for n in 1 2; do
    port=${NODE_PORTS[$((n - 1))]}
    log_for "node$n"
    as_pg sh -c "nohup pg_autoctl create postgres --pgdata '$BASE/node$n' --pgctl '$BIN/pg_ctl' \
      --pgport $port --listen 127.0.0.1 --hostname 127.0.0.1 --name node$n \
      --auth trust --no-ssl --monitor '$MONITOR' --run >>'$BASE/node$n.log' 2>&1 </dev/null &"
    wait_for 90 up "$port" || die "node$n is not up on 127.0.0.1:$port; $BASE/node$n.log says: $(tail -n 5 "$BASE/node$n.log")"
  done
}

start() {
  need_root
  if up "$MONITOR_PORT" && up "${NODE_PORTS[0]}" && up "${NODE_PORTS[1]}" &&
    keeper_running monitor && keeper_running node1 && keeper_running node2 &&
    settled; then
    status_line
    return 0
  fi
  command -v pg_autoctl >/dev/null || {
    echo "pg-auto-failover: installing Debian's postgresql-$VER-auto-failover package"
    apt-get install -y -qq "postgresql-$VER-auto-failover" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq "postgresql-$VER-auto-failover" >/dev/null; } ||
      die "could not install postgresql-$VER-auto-failover"
  }
  # A formation is all three nodes or nothing: what a failed first start left is thrown away.
  if [ -d "$BASE" ] && ! { [ -f "$BASE/monitor/PG_VERSION" ] && [ -f "$BASE/node1/PG_VERSION" ] &&
    [ -f "$BASE/node2/PG_VERSION" ]; }; then
    echo "pg-auto-failover: $BASE holds an incomplete formation: creating it again"
    stop_node node2; stop_node node1; stop_node monitor
    rm -rf "$BASE" "$RUNDIR"
  fi
  install -d -o postgres -g postgres -m 0700 "$BASE"
  install -d -o postgres -g postgres -m 0700 "$RUNDIR"

  if [ -f "$BASE/monitor/PG_VERSION" ]; then
    # An existing formation. The monitor fails a primary over at once when its keeper reports
    # Postgres down, even for the moment the keeper takes to start it after a stop, and a
    # keeper cannot start before the monitor: so the monitor first, then the Postgres of the
    # node the monitor holds for the primary, by hand (its keeper takes over the Postgres it
    # finds running), then the keepers. Only that node: an old primary started by hand would
    # take writes until its keeper demotes it.
    keeper_running monitor || run_keeper monitor
    wait_for 30 up "$MONITOR_PORT" || die "the monitor is not up on 127.0.0.1:$MONITOR_PORT; $BASE/monitor.log says: $(tail -n 5 "$BASE/monitor.log")"
    local n port goal
    for n in 1 2; do
      port=${NODE_PORTS[$((n - 1))]}
      keeper_running "node$n" && continue
      goal=$(on_monitor "SELECT goalstate FROM pgautofailover.node WHERE nodeport = $port" 2>/dev/null || true)
      case "$goal" in
      primary | wait_primary | single)
        up "$port" ||
          as_pg pg_ctl -D "$BASE/node$n" -o "-p $port -h 127.0.0.1" -l "$BASE/node$n.postgres.log" \
            -w -t 60 start >/dev/null || true ;;
      esac
      run_keeper "node$n"
    done
  else
    create
  fi
  tune_monitor
  wait_for 120 settled || { status_line || true; die "no primary and secondary after 120 s; see $BASE/node1.log, $BASE/node2.log and: .ci/pg-auto-failover.sh show"; }
  status_line
}

stop_node() { # <name> [--immediate]: stops its pg_autoctl and Postgres, and waits for both
  [ -d "$BASE/$1" ] || return 0
  local mode
  for mode in "${2:---fast}" --immediate; do
    keeper_running "$1" || break
    as_pg pg_autoctl stop --pgdata "$BASE/$1" "$mode" >/dev/null 2>&1 || true
    wait_for 10 keeper_stopped "$1" && break
  done
  local p
  p=$(keeper_pid "$1")
  if [ -n "$p" ]; then kill -KILL "$p" 2>/dev/null || true; fi
  if [ -f "$BASE/$1/postmaster.pid" ]; then
    as_pg pg_ctl -D "$BASE/$1" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

stop() {
  need_root
  # The monitor first, so that it never sees a node go away and fails over; then the
  # secondary, then the primary.
  local p first=node1 second=node2
  p=$(primary_port || true)
  if [ "$p" = "${NODE_PORTS[0]}" ]; then first=node2 second=node1; fi
  stop_node monitor
  stop_node "$first"
  stop_node "$second"
  echo "pg-auto-failover: stopped"
}

# One start or stop at a time (several checkouts may run CI on one machine): the script runs
# again under flock, which holds the lock itself (-o) so that no server started here inherits it.
case "${1:-start}" in
start | stop | failover | kill-primary)
  if [ "${REPO_CI_LOCK_HELD:-}" != pg-auto-failover ]; then
    rc=0
    REPO_CI_LOCK_HELD=pg-auto-failover flock -o -E 75 -w 900 /run/lock/repo-ci-pg-auto-failover.lock "$BASH" "$0" "$@" || rc=$?
    [ "$rc" != 75 ] || die "another start or stop of pg-auto-failover has held its lock for 15 minutes"
    exit "$rc"
  fi
  ;;
esac

case "${1:-start}" in
start) start ;;
stop) stop ;;
status)
  up "$MONITOR_PORT" || { echo "pg-auto-failover: down (start: .ci/pg-auto-failover.sh start)"; exit 1; }
  status_line ;;
show) as_pg pg_autoctl show state --pgdata "$BASE/monitor" ;;
primary)
  p=$(primary_port || true)
  [ -n "$p" ] || die "no primary now (the monitor is down or a failover is under way)"
  echo "$p" ;;
failover)
  need_root
  settled || die "no primary and secondary to fail over between: .ci/pg-auto-failover.sh start"
  # Its table of state changes (and the harmless errors pg_autoctl 2.0 prints) go to a log.
  log_for failover
  # Drain the primary first: no new transaction on it writes. pg_autoctl's own draining comes
  # too late: its monitor can move the primary to wait_primary at the start of the failover
  # (seeing the standby it is promoting as no healthy quorum member), which turns synchronous
  # replication off while clients still write, and what they commit then is rewound away when
  # the old primary follows the new one. Refused writes (25006) go to the new primary instead.
  old_primary=$(primary_port || true)
  [ -n "$old_primary" ] && set_read_only "$old_primary" on
  sleep 1 # transactions begun read-write before the reload end
  as_pg pg_autoctl perform failover --pgdata "$BASE/monitor" --wait 120 >>"$BASE/failover.log" 2>&1 ||
    { for port in "${NODE_PORTS[@]}"; do set_read_only "$port" reset; done
      die "the failover did not complete; $BASE/failover.log says: $(tail -n 5 "$BASE/failover.log")"; }
  for port in "${NODE_PORTS[@]}"; do set_read_only "$port" reset; done
  wait_for 60 settled || true
  # Again once both run: the old primary may have been stopped (rewinding) a moment ago.
  for port in "${NODE_PORTS[@]}"; do set_read_only "$port" reset; done
  status_line ;;
kill-primary)
  need_root
  p=$(primary_port || true)
  [ -n "$p" ] || die "no primary now"
  for n in 1 2; do
    if [ "${NODE_PORTS[$((n - 1))]}" = "$p" ]; then
      stop_node "node$n" --immediate
      echo "pg-auto-failover: stopped node$n, the primary on 127.0.0.1:$p"
    fi
  done ;;
*) echo "usage: $0 [start|stop|status|show|primary|failover|kill-primary]" >&2; exit 2 ;;
esac
