# A throwaway PostgreSQL server for the tests and benchmarks: sourced by scripts/test and
# scripts/bench. Installs Debian's server when it is missing, initdb's a cluster into a fresh
# temporary directory (as the postgres user when run as root, since PostgreSQL refuses to run
# as root), trust authentication on 127.0.0.1 only, a free port; stopped and removed on exit.

# pg_bindir: the directory holding initdb and pg_ctl (Debian keeps them off PATH).
pg_bindir() {
  local initdb
  initdb=$(command -v initdb 2>/dev/null || true)
  if [ -n "$initdb" ]; then
    dirname "$(readlink -f "$initdb")"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

# start_postgres [durable]: starts the server and exports FLOW_TEST_POSTGRES (an admin URL)
# and FLOW_TEST_PG_BIN. Without `durable`, fsync is off: the data is thrown away anyway.
start_postgres() {
  local durable=${1:-}
  if [ -z "$(pg_bindir)" ]; then
    ensure_packages /usr/lib/postgresql/15/bin/initdb:postgresql || return 1
  fi
  local bin
  bin=$(pg_bindir)
  if [ -z "$bin" ]; then
    echo "error: PostgreSQL's initdb was not found after installing postgresql" >&2
    return 1
  fi
  PG_DIR=$(mktemp -d /tmp/flow-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  PG_RUN=("${run[@]}")
  PG_BIN=$bin
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if ! "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-sync \
      >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    echo "error: initdb failed" >&2
    return 1
  fi
  local opts="-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300"
  if [ "$durable" != durable ]; then
    opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  if ! "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -o "$opts" -l "$PG_DIR/server.log" -w -s start; then
    cat "$PG_DIR/server.log" >&2
    echo "error: PostgreSQL did not start" >&2
    return 1
  fi
  trap stop_postgres EXIT
  export FLOW_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  export FLOW_TEST_PG_BIN=$bin
  echo "== throwaway PostgreSQL on 127.0.0.1:$port ($PG_DIR)" >&2
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
