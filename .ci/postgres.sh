# Sourced by .ci/run: a throwaway PostgreSQL cluster for the tests.
#
#   pg_up      initdb in a temp dir, pg_ctl start on a free 127.0.0.1 port, create database
#              "wscfg"; exports WSCFG_TEST_DATABASE_URL. Installs Debian's postgresql first
#              when no server is on the machine.
#   pg_down    stop the cluster and remove its directory (safe to call twice; .ci/run traps it)
#
# As root, the cluster runs as the "postgres" user (initdb refuses root).

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_up() {
  local bin
  bin="$(pg_bin)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "ci: installing PostgreSQL (Debian package postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin="$(pg_bin)"
  fi
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wscfg-pg-XXXXXX")"
  export PG_DIR
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -U wscfg --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log"; return 1; }
  local try port
  for try in 1 2 3 4 5; do
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    if "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" \
      start >/dev/null; then
      PG_BIN="$bin"
      export PG_BIN
      "${run[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U wscfg wscfg
      export WSCFG_TEST_DATABASE_URL="postgresql+psycopg://wscfg@127.0.0.1:$port/wscfg"
      echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
      return 0
    fi
    echo "ci: PostgreSQL did not start on port $port (try $try); retrying"
  done
  cat "$PG_DIR/server.log"
  return 1
}

pg_down() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    local run=()
    [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
    "${run[@]}" "${PG_BIN:-$(pg_bin)}/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
  PG_DIR=""
}
