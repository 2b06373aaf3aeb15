#!/usr/bin/env bash
# One entry point for the servers tests of pooling, replicas and failover need, beside the
# PostgreSQL (5432) and MariaDB (3306) that .ci/run starts:
#   pgbouncer          PgBouncer, transaction pooling   postgres://postgres@127.0.0.1:6432/test
#   pg-replica         PostgreSQL streaming replica     postgres://postgres@127.0.0.1:5433/test
#   mariadb-replica    MariaDB GTID replica             mysql://root@127.0.0.1:3307/test
#   pg-auto-failover   pg_auto_failover formation       postgresql://postgres@127.0.0.1:5441,127.0.0.1:5442/postgres?target_session_attrs=read-write
# Each is started by its own script, .ci/<name>.sh (start|stop|status|...; see its header).
#   usage: .ci/services.sh up|status|down [all|<name>...]      (as root; `up all` by default)
# up starts what is asked (idempotent: quick for what is already up) and prints one line per
# service; it exits 1 when one could not come up, after trying the others, saying how to start
# it by hand.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ALL=(pgbouncer pg-replica mariadb-replica pg-auto-failover)

usage() { echo "usage: $0 up|status|down [all|$(IFS='|'; echo "${ALL[*]}")]..." >&2; exit 2; }
action=${1:-up}
shift || true
case "$action" in up | status | down) ;; *) usage ;; esac
names=("$@")
if [ ${#names[@]} = 0 ] || [ "${names[0]}" = all ]; then names=("${ALL[@]}"); fi
for name in "${names[@]}"; do
  [[ " ${ALL[*]} " == *" $name "* ]] || { echo "unknown service: $name" >&2; usage; }
done
# Stopping goes the other way round.
if [ "$action" = down ]; then
  reversed=()
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do reversed+=("${names[i]}"); done
  names=("${reversed[@]}")
fi

failed=0
for name in "${names[@]}"; do
  script=$HERE/$name.sh
  started=$SECONDS
  case "$action" in
  up) command=start ;;
  status) command=status ;;
  down) command=stop ;;
  esac
  if out=$("$script" "$command" 2>&1); then
    # The script's last line is its status line.
    echo "ok    $(tail -n 1 <<<"$out") [$((SECONDS - started)) s]"
  else
    failed=1
    echo "FAIL  $(tr '\n' ' ' <<<"$out" | sed 's/  */ /g')"
    if [ "$action" = up ]; then
      echo "      start it by hand (as root): $script start    stop: $script stop    state: $script status"
    fi
  fi
done
exit "$failed"
