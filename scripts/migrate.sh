#!/usr/bin/env bash
# migrate.sh: apply sql/migrations/*.sql in name order, each once, each in
# its own transaction, recording it in public.schema_migrations; then store
# the installation settings (first value wins: changing the cell precision
# or slot length of loaded data would make the aggregates disagree).
# Connects with the PG* environment as the cluster's bootstrap superuser.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
psql() { command psql -X -v ON_ERROR_STOP=1 -q "$@"; }

psql -c "SET client_min_messages = warning" -c "CREATE TABLE IF NOT EXISTS public.schema_migrations (
	name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
applied=$(psql -At -c "SELECT name FROM public.schema_migrations")
for f in "$ROOT"/sql/migrations/*.sql; do
	name=$(basename "$f")
	grep -qxF "$name" <<<"$applied" && continue
	echo "applying $name"
	# RESET ROLE: a migration that ends under SET ROLE must not decide who
	# records it.
	{ cat "$f"; echo "RESET ROLE; INSERT INTO public.schema_migrations (name) VALUES (:'name');"; } |
	    psql -1 -v name="$name" -f -
done
psql -v p="${TRIPLINE_CELL_PRECISION:-6}" -v s="${TRIPLINE_SLOT_MINUTES:-60}" <<'SQL'
INSERT INTO tripline.settings (key, value) VALUES
	('cell_precision', :'p'), ('slot_minutes', :'s')
ON CONFLICT (key) DO NOTHING;
SQL
