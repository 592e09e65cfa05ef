#!/bin/sh
# db.sh: entrypoint of the db image.  On first start, initdb into the volume
# (PGDATA); then run PostgreSQL in the foreground as PID 1.
#
# Environment:
#   TRIPLINE_DB_ADMIN            bootstrap superuser [tripline_admin]
#   TRIPLINE_DB_ADMIN_PASSWORD   its password (required on first start)
#   TRIPLINE_PG_SHARED_BUFFERS   [256MB];  TRIPLINE_PG_MAX_CONNECTIONS [300]
#
# Authentication (pg_hba.conf, PostgreSQL docs 21.1): every TCP connection
# needs a SCRAM-SHA-256 password; the port is reachable only on the compose
# back network (it is not published), and every role has its own password.
# The unix socket is trusted: it exists only inside this container, so only
# an operator with `exec` into it (who could read PGDATA anyway) uses it.
set -eu

ADMIN=${TRIPLINE_DB_ADMIN:-tripline_admin}
: "${PGDATA:?PGDATA is not set}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${TRIPLINE_DB_ADMIN_PASSWORD:-}" ]; then
		echo "db: TRIPLINE_DB_ADMIN_PASSWORD is empty; refusing to create a cluster without one" >&2
		exit 1
	fi
	echo "db: initialising a cluster in $PGDATA"
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	pwfile=$(mktemp)
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "$TRIPLINE_DB_ADMIN_PASSWORD" > "$pwfile"
	initdb -D "$PGDATA" -U "$ADMIN" --pwfile="$pwfile" -E UTF8 \
	    --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	trap - EXIT
	cat >> "$PGDATA/postgresql.conf" <<-EOF
	# tripline (docker/db.sh)
	listen_addresses = '*'
	unix_socket_directories = '/var/run/postgresql'
	password_encryption = 'scram-sha-256'
	max_wal_size = 4GB
	checkpoint_timeout = 15min
	maintenance_work_mem = 256MB
	work_mem = 32MB
	# No replica reads this cluster: a COPY into the partition a load
	# creates in its own transaction then writes no WAL (PostgreSQL docs,
	# 14.4.7; see scripts/stack.sh).  Changing it needs a restart.
	wal_level = minimal
	max_wal_senders = 0
	# Settings that follow the environment on every start:
	include_if_exists = 'tripline-env.conf'
	EOF
	cat > "$PGDATA/pg_hba.conf" <<-EOF
	# TYPE  DATABASE USER ADDRESS  METHOD
	local   all      all           trust
	host    all      all  all      scram-sha-256
	EOF
fi

# Re-read on every start, so a change in the compose file takes effect.
cat > "$PGDATA/tripline-env.conf" <<EOF
shared_buffers = ${TRIPLINE_PG_SHARED_BUFFERS:-256MB}
max_connections = ${TRIPLINE_PG_MAX_CONNECTIONS:-300}
EOF

exec postgres -D "$PGDATA"
