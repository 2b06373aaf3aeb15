#!/usr/bin/env bash
# A MariaDB replica of the local server 127.0.0.1:3306 on 127.0.0.1:3307, replicating with GTID,
# for tests of read-replica routing and read-your-writes. A second mariadbd (server_id 2,
# read_only) with its own data directory /var/lib/mysql-replica, configuration
# /etc/mysql/repo-replica.cnf, socket and pid file in /run/mysqld-replica, error log
# /var/log/mysql/replica-error.log. It runs from a copy of the mariadbd binary so that
# `start-stop-daemon --start --exec /usr/sbin/mariadbd`, which is how .ci/run starts the primary,
# never mistakes the replica for a running primary.
# The primary needs a binary log: when it has none this script adds
# /etc/mysql/mariadb.conf.d/60-repo-primary.cnf (log_bin, server_id 1, binlog_format ROW) and
# restarts the primary once, after waiting up to REPO_MARIADB_RESTART_WAIT seconds (default 120)
# for its clients to go. The replica is seeded with mariabackup (package mariadb-backup,
# installed if missing), so it starts from a consistent copy even while other clients write.
#   usage: .ci/mariadb-replica.sh [start|stop [kill]|restart|status|delay <seconds>|reseed]
#     start            idempotent; quick when the replica is already up (the default)
#     stop             clean shutdown; `stop kill` kills it as a crash would (tests of a replica
#                      dying mid-run); `start` brings it back and it catches up
#     delay <seconds>  apply events no sooner than <seconds> after the primary ran them
#                      (MASTER_DELAY: whole seconds only); `delay 0` clears it
#     reseed           throw the replica's data away and copy the primary again
# Clients: mysql://root@127.0.0.1:3307/test (no password; read only, for root too: a write
# fails with error 1290). Positions:
#   primary: SELECT @@gtid_binlog_pos      replica: SELECT MASTER_GTID_WAIT('<gtid>', <timeout s>)
set -euo pipefail
PORT=3307
DATA=/var/lib/mysql-replica
CNF=/etc/mysql/repo-replica.cnf
RUN=/run/mysqld-replica
PIDFILE=$RUN/mysqld.pid
LOG=/var/log/mysql/replica-error.log
BIN=/usr/local/lib/repo-mariadb-replica/mariadbd
PRIMARY_CNF=/etc/mysql/mariadb.conf.d/60-repo-primary.cnf

die() { echo "mariadb-replica: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (the servers themselves run as user mysql)"; }
sql() { local port=$1; shift; mysql --protocol=tcp -h 127.0.0.1 -P "$port" -u root -NB "$@"; }
on_primary() { sql 3306 -e "$1"; }
on_replica() { sql "$PORT" -e "$1"; }
ping() { mysqladmin --protocol=tcp -h 127.0.0.1 -P "$1" -u root ping >/dev/null 2>&1; }
pid() { cat "$PIDFILE" 2>/dev/null || true; }
running() { local p; p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# SHOW SLAVE STATUS, one "Name: value" line a field; one field of it.
slave_status() { mysql --protocol=tcp -h 127.0.0.1 -P "$PORT" -u root -e 'SHOW SLAVE STATUS\G'; }
slave_field() { slave_status | sed -n "s/^ *$1: //p"; }

status_line() {
  local st io sqlt delay behind pos
  st=$(slave_status 2>/dev/null) || return 1
  field() { sed -n "s/^ *$1: //p" <<<"$st"; }
  io=$(field Slave_IO_Running); sqlt=$(field Slave_SQL_Running)
  delay=$(field SQL_Delay); behind=$(field Seconds_Behind_Master)
  pos=$(on_replica "SELECT @@gtid_slave_pos" 2>/dev/null)
  if [ -z "$io" ]; then
    echo "mariadb-replica: up on 127.0.0.1:$PORT but not set up as a replica (reseed: .ci/mariadb-replica.sh reseed)"
    return 1
  fi
  echo "mariadb-replica: up on 127.0.0.1:$PORT (replica of 127.0.0.1:3306, io $io, sql $sqlt, delay ${delay:-0}s, behind ${behind:-?}s, gtid ${pos:-none})"
  if [ "$io" != Yes ] || [ "$sqlt" != Yes ]; then
    echo "  io error: $(field Last_IO_Error)" >&2
    echo "  sql error: $(field Last_SQL_Error)" >&2
    return 1
  fi
}

# The primary: running, with a binary log. Starting it is .ci/run's job; restarting it here
# happens once on a machine, to turn the binary log on.
primary_ready() {
  ping 3306 || die "the primary 127.0.0.1:3306 is down: start it first (.ci/run does)"
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<'EOF'
# Written by .ci/mariadb-replica.sh: a binary log with GTIDs for the replica on 127.0.0.1:3307.
[mariadbd]
server_id = 1
log_bin = mariadb-bin
binlog_format = ROW
# A replica stopped for longer than this is copied again when it starts.
binlog_expire_logs_seconds = 21600
max_binlog_size = 128M
# Triggers and functions created by users without SUPER, as without a binary log.
log_bin_trust_function_creators = 1
EOF
  cmp -s "$tmp" "$PRIMARY_CNF" || install -D -m 0644 "$tmp" "$PRIMARY_CNF"
  rm -f "$tmp"
  if ! grep -Eq '^!includedir[[:space:]]+/etc/mysql/mariadb.conf.d/?[[:space:]]*$' /etc/mysql/my.cnf; then
    printf '\n!includedir /etc/mysql/mariadb.conf.d/\n' >>/etc/mysql/my.cnf
  fi
  my_print_defaults --mysqld | grep -q '^--log[-_]bin=mariadb-bin' ||
    die "$PRIMARY_CNF is not read by the primary (check /etc/mysql/my.cnf's !includedir lines)"
  if [ "$(on_primary 'SELECT @@log_bin')" = 1 ]; then
    # What may change without a restart follows the file.
    on_primary "SET GLOBAL binlog_expire_logs_seconds = 21600, GLOBAL max_binlog_size = 134217728,
      GLOBAL log_bin_trust_function_creators = 1"
    return 0
  fi

  local wait=${REPO_MARIADB_RESTART_WAIT:-120} others=""
  echo "mariadb-replica: the primary has no binary log: restarting it with $PRIMARY_CNF"
  for _ in $(seq 1 "$wait"); do
    others=$(on_primary "SELECT COUNT(*) FROM information_schema.PROCESSLIST
      WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Slave_IO', 'Slave_SQL')
        AND USER NOT IN ('system user', 'event_scheduler')")
    [ "$others" = 0 ] && break
    sleep 1
  done
  [ "$others" = 0 ] || echo "mariadb-replica: $others client connection(s) still open after ${wait}s: restarting anyway"
  local p
  p=$(cat /run/mysqld/mysqld.pid 2>/dev/null || true)
  mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root shutdown
  if [ -n "$p" ]; then
    for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  fi
  # Started as .ci/run starts it.
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 600); do ping 3306 && break; sleep 0.1; done
  ping 3306 || die "the primary did not come back on 127.0.0.1:3306: see /var/log/mysql/error.log"
  [ "$(on_primary 'SELECT @@log_bin')" = 1 ] || die "the primary still has no binary log after its restart"
}

write_config() {
  install -d -o mysql -g mysql -m 0755 "$RUN"
  install -d -o mysql -g adm -m 0750 "$(dirname "$LOG")"
  # A copy of its own (see the header); refreshed when the package updates the server.
  if ! cmp -s /usr/sbin/mariadbd "$BIN"; then
    install -D -m 0755 /usr/sbin/mariadbd "$BIN"
  fi
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Written by .ci/mariadb-replica.sh: rewritten on every start. The replica reads only this file.
[mariadbd]
user = mysql
server_id = 2
port = $PORT
bind_address = 127.0.0.1
socket = $RUN/mysqld.sock
pid_file = $PIDFILE
datadir = $DATA
basedir = /usr
plugin_dir = /usr/lib/mysql/plugin
lc_messages_dir = /usr/share/mysql
log_error = $LOG
skip_name_resolve
character_set_server = utf8mb4
collation_server = utf8mb4_general_ci
innodb_buffer_pool_size = 128M
performance_schema = OFF
read_only = ON
relay_log = relay-bin
relay_log_recovery = ON
EOF
  cmp -s "$tmp" "$CNF" || install -m 0644 "$tmp" "$CNF"
  rm -f "$tmp"
}

start_server() {
  write_config
  start-stop-daemon --start --background --pidfile "$PIDFILE" --exec "$BIN" -- --defaults-file="$CNF" ||
    die "could not start mariadbd for the replica"
  for _ in $(seq 1 600); do
    ping "$PORT" && return 0
    grep -q '\[ERROR\] Aborting' "$LOG" 2>/dev/null && break
    sleep 0.1
  done
  die "did not come up on 127.0.0.1:$PORT; $LOG says: $(tail -n 5 "$LOG" 2>/dev/null)"
}

stop() {
  local how=${1:-clean}
  case "$how" in clean | kill) ;; *) die "stop is clean or kill, not $how" ;; esac
  running || return 0
  local p; p=$(pid)
  if [ "$how" = kill ]; then
    kill -KILL "$p"
  else
    mysqladmin --protocol=tcp -h 127.0.0.1 -P "$PORT" -u root shutdown 2>/dev/null || kill -TERM "$p"
  fi
  for _ in $(seq 1 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$p" 2>/dev/null || die "mariadbd (pid $p) did not stop"
  if [ "$how" = kill ]; then rm -f "$PIDFILE" "$RUN/mysqld.sock"; fi
}

# A consistent physical copy of the primary with the GTID position it holds.
seed() {
  command -v mariabackup >/dev/null || {
    echo "mariadb-replica: installing Debian's mariadb-backup package"
    apt-get install -y -qq mariadb-backup >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq mariadb-backup >/dev/null; } ||
      die "could not install mariadb-backup (apt-get install -y mariadb-backup)"
  }
  stop clean
  echo "mariadb-replica: copying the primary into $DATA (mariabackup)"
  local primary_data new=$DATA.new
  primary_data=$(on_primary "SELECT @@datadir")
  rm -rf "$new" "$DATA"
  mariabackup --backup --target-dir="$new" --datadir="$primary_data" \
    --host=127.0.0.1 --port=3306 --user=root >"$RUN/seed.log" 2>&1 ||
    die "mariabackup --backup failed: $(tail -n 5 "$RUN/seed.log")"
  mariabackup --prepare --target-dir="$new" >>"$RUN/seed.log" 2>&1 ||
    die "mariabackup --prepare failed: $(tail -n 5 "$RUN/seed.log")"
  chown -R mysql:mysql "$new"
  mv "$new" "$DATA"
  rm -f "$RUN/seed.log"
  start_server
  configure
}

# Replicates from the primary from the position the copy holds.
configure() {
  # "<binlog file> <position> <gtid>": the last transaction the copy holds.
  local gtid
  gtid=$(awk '{print $3}' "$DATA/xtrabackup_binlog_info")
  on_replica "STOP SLAVE; RESET SLAVE ALL;
    SET GLOBAL gtid_slave_pos = '$gtid';
    CHANGE MASTER TO master_host = '127.0.0.1', master_port = 3306, master_user = 'root',
      master_password = '', master_use_gtid = slave_pos, master_connect_retry = 1;
    START SLAVE;"
  read_only_root
}

# Writes on the replica fail for root too, as on a PostgreSQL hot standby: read_only spares
# accounts with READ ONLY ADMIN, which root's ALL PRIVILEGES includes, so the replica's root
# accounts lose it (on the replica only: it writes no binary log).
read_only_root() {
  local account
  for account in "'root'@'127.0.0.1'" "'root'@'localhost'"; do
    on_replica "REVOKE READ ONLY ADMIN ON *.* FROM $account" 2>/dev/null || true
  done
}

# Waits for both replication threads to run: 0 when they do, 2 as soon as the primary says it
# no longer has the binary log the replica needs (stopped for too long), 1 otherwise.
wait_replicating() {
  for _ in $(seq 1 "$1"); do
    [ "$(slave_field Slave_IO_Running)" = Yes ] && [ "$(slave_field Slave_SQL_Running)" = Yes ] && return 0
    [ "$(slave_field Last_IO_Errno)" = 1236 ] && return 2
    sleep 0.1
  done
  return 1
}

start() {
  need_root
  if ping "$PORT" && status_line >/dev/null 2>&1; then status_line; return 0; fi
  primary_ready
  install -d -o mysql -g mysql -m 0755 "$RUN"
  if [ ! -f "$DATA/xtrabackup_binlog_info" ]; then
    seed
  else
    ping "$PORT" || start_server
    [ -n "$(slave_field Master_Host)" ] || configure
  fi
  read_only_root
  on_replica "START SLAVE" >/dev/null 2>&1 || true
  local waited=0
  wait_replicating 150 || waited=$?
  if [ "$waited" = 2 ]; then
    echo "mariadb-replica: the primary no longer has the binary log the replica needs: reseeding"
    seed
    waited=0
    wait_replicating 150 || waited=$?
  fi
  if [ "$waited" != 0 ]; then
    status_line || true
    die "up on 127.0.0.1:$PORT but not replicating (the errors above); to start over: .ci/mariadb-replica.sh reseed"
  fi
  status_line
}

set_delay() {
  local s=${1:?usage: mariadb-replica.sh delay <seconds>}
  [[ "$s" =~ ^[0-9]+$ ]] || die "MASTER_DELAY is a whole number of seconds, not $s"
  ping "$PORT" || die "the replica is down: .ci/mariadb-replica.sh start"
  on_replica "STOP SLAVE; CHANGE MASTER TO master_delay = $s; START SLAVE"
  echo "mariadb-replica: master_delay = $(slave_field SQL_Delay)s"
}

# One start or stop at a time (several checkouts may run CI on one machine): the script runs
# again under flock, which holds the lock itself (-o) so that no server started here inherits it.
case "${1:-start}" in
start | stop | restart | reseed)
  if [ "${REPO_CI_LOCK_HELD:-}" != mariadb-replica ]; then
    rc=0
    REPO_CI_LOCK_HELD=mariadb-replica flock -o -E 75 -w 900 /run/lock/repo-ci-mariadb-replica.lock "$BASH" "$0" "$@" || rc=$?
    [ "$rc" != 75 ] || die "another start or stop of mariadb-replica has held its lock for 15 minutes"
    exit "$rc"
  fi
  ;;
esac

case "${1:-start}" in
start) start ;;
stop) need_root; stop "${2:-clean}"; echo "mariadb-replica: stopped" ;;
restart) need_root; stop clean; start ;;
status)
  ping "$PORT" || { echo "mariadb-replica: down (start: .ci/mariadb-replica.sh start)"; exit 1; }
  status_line ;;
delay) set_delay "${2:-}" ;;
reseed) need_root; primary_ready; install -d -o mysql -g mysql -m 0755 "$RUN"; seed; start ;;
*) echo "usage: $0 [start|stop [kill]|restart|status|delay <seconds>|reseed]" >&2; exit 2 ;;
esac
