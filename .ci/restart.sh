#!/usr/bin/env bash
# Restart a local database server, as `repo-load --restart-command` does under load, and return
# once it answers again: `bash .ci/restart.sh postgres` or `bash .ci/restart.sh mariadb`.
set -euo pipefail

case "${1:-}" in
  postgres)
    # A fast shutdown: open sessions are ended, in-flight transactions rolled back.
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main restart -m fast
    for _ in $(seq 1 60); do
      pg_isready -h 127.0.0.1 -p 5432 -q && exit 0
      sleep 0.5
    done
    echo "PostgreSQL did not come back on 127.0.0.1:5432" >&2
    exit 1
    ;;
  mariadb)
    # The primary's own process: a replica (.ci/mariadb-replica.sh) is a mariadbd too.
    pid=$(cat /run/mysqld/mysqld.pid 2>/dev/null || pgrep -f '^/usr/sbin/mariadbd' | head -n 1 || true)
    mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root shutdown
    if [ -n "$pid" ]; then
      for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
    fi
    if id mysql >/dev/null 2>&1; then
      mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    fi
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 60); do
      mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && exit 0
      sleep 0.5
    done
    echo "MariaDB did not come back on 127.0.0.1:3306" >&2
    exit 1
    ;;
  *)
    echo "usage: $0 postgres|mariadb" >&2
    exit 2
    ;;
esac
