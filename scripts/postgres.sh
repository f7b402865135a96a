#!/usr/bin/env bash
# A PostgreSQL server on 127.0.0.1 for the team-state tests (DSTACK_STATE_URL=postgres://…):
# installs Debian's `postgresql` package when missing (root with apt), starts the cluster, and
# makes the role and database the tests use. Idempotent: when the server already answers and
# the role exists, it does nothing (well under a second).
#
#   bash scripts/postgres.sh        # then: postgres://dstack:dstack@127.0.0.1:5432/dstack_test?sslmode=disable
#
# Override with DSTACK_TEST_POSTGRES_URL to use another server (this script is then not needed).
set -euo pipefail
log() { printf '[postgres] %s\n' "$*" >&2; }

PGPORT_WANTED="${DSTACK_TEST_POSTGRES_PORT:-5432}"
ROLE=dstack
PASSWORD=dstack
DB=dstack_test

answers() {
  PGPASSWORD="$PASSWORD" psql -h 127.0.0.1 -p "$PGPORT_WANTED" -U "$ROLE" -d "$DB" -Atc 'select 1' >/dev/null 2>&1
}
if command -v psql >/dev/null 2>&1 && answers; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "not root: start a PostgreSQL server yourself with role $ROLE/$PASSWORD and database $DB on 127.0.0.1:$PGPORT_WANTED, or set DSTACK_TEST_POSTGRES_URL"
  exit 5
fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { log "no apt-get: install PostgreSQL with your package manager"; exit 5; }
  log "installing postgresql (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -qx "$version main"; then
  log "creating cluster $version/main"
  pg_createcluster --port "$PGPORT_WANTED" "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -qx online; then
  log "starting cluster $version/main on 127.0.0.1:$PGPORT_WANTED"
  # listen on loopback only, whatever the cluster's configuration says
  pg_ctlcluster "$version" main start -- -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT_WANTED"
fi
for _ in $(seq 1 60); do
  runuser -u postgres -- psql -p "$PGPORT_WANTED" -Atc 'select 1' >/dev/null 2>&1 && break
  sleep 0.5
done

as_postgres() { runuser -u postgres -- psql -p "$PGPORT_WANTED" -v ON_ERROR_STOP=1 -Atq "$@"; }
if [ "$(as_postgres -c "select 1 from pg_roles where rolname = '$ROLE'")" != 1 ]; then
  log "creating role $ROLE"
  as_postgres -c "create role $ROLE login password '$PASSWORD'"
fi
if [ "$(as_postgres -c "select 1 from pg_database where datname = '$DB'")" != 1 ]; then
  log "creating database $DB"
  as_postgres -c "create database $DB owner $ROLE"
fi
answers || { log "the server does not accept $ROLE on 127.0.0.1:$PGPORT_WANTED; see /var/log/postgresql/"; exit 5; }
log "ready: postgres://$ROLE:$PASSWORD@127.0.0.1:$PGPORT_WANTED/$DB?sslmode=disable"
