#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initdb in a temporary folder, listening on
# 127.0.0.1 only (and a unix socket in that folder), trust authentication for the `baton` role
# (nothing else can reach it), no fsync (the data dies with the run).
#
#   eval "$(scripts/postgres.sh start)"   prints `export BATON_TEST_DATABASE_URL=… BATON_PG_DIR=…`
#   scripts/postgres.sh stop DIR          stops the cluster and deletes its folder
#
# Installs Debian's postgresql when its programs are missing. As root, the server runs as the
# `postgres` user (initdb refuses root).
set -euo pipefail

bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$dir" ]; then
    echo "postgres: installing postgresql" >&2
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  echo "$dir"
}

as_owner() { # runs a command as the cluster's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  start)
    bin=$(bin_dir)
    dir=$(mktemp -d /tmp/baton-pg.XXXXXX)
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U baton --auth=trust --no-sync -E UTF8 >/dev/null
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null
    echo "export BATON_TEST_DATABASE_URL=postgres://baton@127.0.0.1:$port BATON_PG_DIR=$dir"
    ;;
  stop)
    dir=${2:?the cluster folder}
    bin=$(bin_dir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
