#!/bin/bash
# Initialise the data directory on first start (a socket-only server sets the
# accounts), then run MariaDB on all interfaces. Both servers log "ready for
# connections", which is what testcontainers' MySqlContainer waits for twice.
# Extra arguments go to mariadbd.
set -euo pipefail

root_password="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
database="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
user="${MARIADB_USER:-${MYSQL_USER:-}}"
password="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
allow_empty="${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
if [ -z "$root_password" ] && [ -z "$allow_empty" ]; then
    echo "entrypoint: set MARIADB_ROOT_PASSWORD (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1)" >&2
    exit 1
fi
datadir=/var/lib/mysql

sql_string() {  # a single-quoted SQL string literal
    local escaped="${1//\\/\\\\}"
    printf "'%s'" "${escaped//\'/\'\'}"
}

if [ ! -d "$datadir/mysql" ]; then
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
        --auth-root-authentication-method=normal > /dev/null
    socket=/run/mysqld/init.sock
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$socket" &
    init_pid=$!
    for _ in $(seq 1 300); do
        mariadb-admin --socket="$socket" -uroot ping > /dev/null 2>&1 && break
        sleep 0.1
    done
    pw="$(sql_string "$root_password")"
    {
        # mariadb-install-db leaves passwordless root@127.0.0.1, root@::1 and
        # root@<hostname>, which would shadow root@'%' for TCP logins.
        echo "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');"
        echo "FLUSH PRIVILEGES;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $pw;"
        echo "CREATE USER 'root'@'%' IDENTIFIED BY $pw;"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        if [ -n "$database" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`${database//\`/\`\`}\`;"
        fi
        if [ -n "$user" ] && [ "$user" != root ]; then
            echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
            if [ -n "$database" ]; then
                echo "GRANT ALL ON \`${database//\`/\`\`}\`.* TO $(sql_string "$user")@'%';"
            fi
        fi
    } | mariadb --socket="$socket" -uroot
    kill "$init_pid"
    wait "$init_pid"
    echo "entrypoint: initialised $datadir (database ${database:-none}, user ${user:-root})"
fi

exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 \
    --skip-name-resolve "$@"
