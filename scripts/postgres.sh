#!/usr/bin/env bash
# A private PostgreSQL server for tests and local use, on 127.0.0.1 only.
#   scripts/postgres.sh start   -> starts it (creating it the first time) and prints its DATABASE_URL
#   scripts/postgres.sh stop
# initdb refuses to run as root, so as root the server runs as the system user `ruralcast-pg`.
# Its superuser password is random, generated at creation and kept in $PGHOME/password (mode 600).
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-start}
PGHOME=${RURALCAST_PG_HOME:-/tmp/ruralcast-pg}
PORT=${RURALCAST_PG_PORT:-54329}
PGBIN=${RURALCAST_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[ -x "$PGBIN/pg_ctl" ] || { echo "PostgreSQL server binaries not found (install the postgresql package)" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  id ruralcast-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin ruralcast-pg
  as_pg() { runuser -u ruralcast-pg -- "$@"; }
else
  as_pg() { "$@"; }
fi

url() { echo "postgres://ruralcast:$(cat "$PGHOME/password")@127.0.0.1:$PORT/ruralcast"; }

case "$action" in
  start)
    if [ ! -f "$PGHOME/data/PG_VERSION" ]; then
      rm -rf "$PGHOME/data"
      mkdir -p "$PGHOME/data" "$PGHOME/socket" "$PGHOME/init"
      umask 077
      head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$PGHOME/password"
      cp "$PGHOME/password" "$PGHOME/init/pwfile"
      [ "$(id -u)" = 0 ] && chown -R ruralcast-pg "$PGHOME/data" "$PGHOME/socket" "$PGHOME/init"
      chmod 755 "$PGHOME"
      as_pg "$PGBIN/initdb" -D "$PGHOME/data" -U ruralcast --pwfile="$PGHOME/init/pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
      rm -rf "$PGHOME/init"
    fi
    if ! as_pg "$PGBIN/pg_ctl" -D "$PGHOME/data" status >/dev/null 2>&1; then
      # Test-speed settings: this server holds disposable data only.
      as_pg "$PGBIN/pg_ctl" -D "$PGHOME/data" -l "$PGHOME/data/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $PORT -k $PGHOME/socket -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50" \
        start >/dev/null
    fi
    PGPASSWORD=$(cat "$PGHOME/password") "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U ruralcast -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='ruralcast'" | grep -q 1 || \
      PGPASSWORD=$(cat "$PGHOME/password") "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U ruralcast ruralcast
    mkdir -p .run && url > .run/pg-url && chmod 600 .run/pg-url
    url
    ;;
  stop)
    [ -f "$PGHOME/data/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$PGHOME/data" -m fast stop >/dev/null || true
    ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
