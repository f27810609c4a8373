#!/bin/bash
# Initialise the cluster on first start (socket-only server), then run
# PostgreSQL on all interfaces: a client that can connect over TCP finds the
# user, password and database ready. Extra arguments go to postgres.
set -euo pipefail

user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
password="${POSTGRES_PASSWORD:-}"
if [ -z "$password" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    echo "entrypoint: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
    exit 1
fi
host_auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
as_postgres=(runuser -u postgres --)

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    pwfile="$(mktemp)"
    printf '%s' "${password:-unused}" > "$pwfile"
    chown postgres "$pwfile"
    "${as_postgres[@]}" initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" \
        -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$host_auth" > /dev/null
    rm -f "$pwfile"
    printf 'host all all all %s\n' "$host_auth" >> "$PGDATA/pg_hba.conf"
    if [ "$db" != postgres ]; then
        "${as_postgres[@]}" pg_ctl -D "$PGDATA" -w -s \
            -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start
        quoted_db="${db//\"/\"\"}"
        "${as_postgres[@]}" psql -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -U "$user" \
            -d postgres -c "CREATE DATABASE \"$quoted_db\""
        "${as_postgres[@]}" pg_ctl -D "$PGDATA" -w -s -m fast stop
    fi
    echo "entrypoint: initialised $PGDATA (user $user, database $db)"
fi

exec "${as_postgres[@]}" postgres -D "$PGDATA" -c listen_addresses='*' \
    -c unix_socket_directories=/var/run/postgresql "$@"
