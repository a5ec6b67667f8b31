#!/bin/bash
# The official postgres image's behaviour on Debian's PostgreSQL 15: as root, own PGDATA and drop to the postgres
# user; on the first start only (no PG_VERSION in PGDATA), initdb with POSTGRES_USER / POSTGRES_PASSWORD, create
# POSTGRES_DB and run /docker-entrypoint-initdb.d/*; then exec the server, listening on every address.
set -Eeo pipefail
shopt -s nullglob

if [[ "${1:0:1}" == - ]]; then
    set -- postgres "$@"
fi

if [[ "$1" == postgres && "$(id -u)" == 0 ]]; then
    mkdir -p "$PGDATA"
    # A fresh named volume is root's; an existing cluster keeps its owner (a chown of a large one would take long).
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$PGDATA"
    mkdir -p /var/run/postgresql
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

initialise() {
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    local method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [[ -z "${POSTGRES_PASSWORD:-}" && "$method" != trust ]]; then
        cat >&2 <<'TEXT'
Error: the database is uninitialised and no superuser password is set.
       Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one: not for production).
TEXT
        exit 1
    fi

    echo "initialising a PostgreSQL 15 cluster in $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    local initdb=(initdb -D "$PGDATA" --username="$POSTGRES_USER" -E UTF8 --locale=C.UTF-8)
    # shellcheck disable=SC2206 # word splitting is the contract of POSTGRES_INITDB_ARGS, as in the official image
    [[ -n "${POSTGRES_INITDB_ARGS:-}" ]] && initdb+=($POSTGRES_INITDB_ARGS)
    if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
        "${initdb[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
    else
        "${initdb[@]}" >/dev/null
    fi
    # initdb trusts the socket (what `docker exec … psql` uses); everyone else gives the password.
    printf '\nhost all all all %s\n' "$method" >> "$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

    # A server on the socket only while the database is created and the init scripts run: nobody connects early.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start >/dev/null
    local psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [[ "$POSTGRES_DB" != postgres ]]; then
        # psql variables quote the name: no SQL is built from the environment.
        "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" -q <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "running $f"; if [[ -x "$f" ]]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) echo "running $f"; gzip -dc "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
            *) echo "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init done; starting the server"
}

if [[ "$1" == postgres && ! -s "$PGDATA/PG_VERSION" ]]; then
    initialise
fi

exec "$@"
