#!/bin/sh
# app.sh: entrypoint of the app image, one role per container.
#
#   tripline-app migrate   wait for PostgreSQL, create the database, apply
#                          sql/migrations (scripts/migrate.sh), set the
#                          passwords of the two login roles; then exit
#   tripline-app cgi       the FastCGI program on TRIPLINE_SOCKET
#   tripline-app runner    a job runner (scale with --scale runner=N)
#   tripline-app <cmd...>  anything else runs as is (tripline-gen, psql, sh)
#
# The programs wait until the schema is there before they start, so the stack
# comes up in any order, also under a compose that ignores
# depends_on.condition.  Connection settings are libpq's own: PGHOST,
# PGPORT, PGDATABASE, PGPASSWORD (or PGPASSFILE for a secret file).
#
# Environment of migrate:
#   TRIPLINE_DB_ADMIN, TRIPLINE_DB_ADMIN_PASSWORD   the bootstrap superuser
#   TRIPLINE_DB_WEB_PASSWORD, TRIPLINE_DB_RUNNER_PASSWORD  set on the roles
#   TRIPLINE_CELL_PRECISION, TRIPLINE_SLOT_MINUTES  see scripts/migrate.sh
set -eu

WAIT=${TRIPLINE_WAIT_SECONDS:-180}

say() { printf '%s: %s\n' "$ROLE" "$*" >&2; }

# Run "$@" until it succeeds, once a second, for at most WAIT seconds.
retry() {
	what=$1; shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -ge "$WAIT" ]; then
			say "gave up waiting for $what after ${WAIT}s"
			"$@" || true
			exit 1
		fi
		[ $((i % 10)) -eq 1 ] && say "waiting for $what"
		sleep 1
	done
}

psql_q() { psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# The schema is ready once migrate.sh has stored the settings, its last step.
schema_ready() {
	[ -n "$(psql_q -At -d "$PGDATABASE" -c \
	    "SELECT 1 FROM tripline.settings WHERE key = 'cell_precision'" 2>/dev/null)" ]
}

migrate() {
	: "${TRIPLINE_DB_ADMIN_PASSWORD:?is required}"
	: "${TRIPLINE_DB_WEB_PASSWORD:?is required}"
	: "${TRIPLINE_DB_RUNNER_PASSWORD:?is required}"
	export PGUSER="${TRIPLINE_DB_ADMIN:-tripline_admin}"
	export PGPASSWORD="$TRIPLINE_DB_ADMIN_PASSWORD"
	retry "PostgreSQL at $PGHOST:${PGPORT:-5432}" psql_q -d postgres -c 'SELECT 1'
	# Values travel as psql variables, quoted by psql (:'v' and :"v").
	if [ -z "$(psql_q -At -d postgres -v db="$PGDATABASE" <<-'SQL'
		SELECT 1 FROM pg_database WHERE datname = :'db';
		SQL
	    )" ]; then
		say "creating database $PGDATABASE"
		psql_q -d postgres -v db="$PGDATABASE" <<-'SQL'
		CREATE DATABASE :"db";
		SQL
	fi
	/usr/share/tripline/scripts/migrate.sh
	psql_q -d "$PGDATABASE" -v web="$TRIPLINE_DB_WEB_PASSWORD" \
	    -v runner="$TRIPLINE_DB_RUNNER_PASSWORD" <<-'SQL'
	ALTER ROLE tripline_web PASSWORD :'web';
	ALTER ROLE tripline_runner PASSWORD :'runner';
	SQL
	say "database $PGDATABASE is migrated"
}

ROLE=${1:-cgi}
case $ROLE in
migrate)
	migrate
	;;
cgi)
	export TRIPLINE_DB_USER=${TRIPLINE_DB_USER:-tripline_web}
	export PGUSER=$TRIPLINE_DB_USER
	retry "the schema (migrate)" schema_ready
	# A socket left by a previous container would make bind(2) fail.
	rm -f "$TRIPLINE_SOCKET"
	exec tripline-cgi
	;;
runner)
	export TRIPLINE_DB_USER=${TRIPLINE_DB_USER:-tripline_runner}
	export PGUSER=$TRIPLINE_DB_USER
	retry "the schema (migrate)" schema_ready
	exec tripline-runner
	;;
*)
	exec "$@"
	;;
esac
