#!/usr/bin/env bash
# migrate.sh: apply sql/migrations/*.sql in name order, each once, each in
# its own transaction, recording it in public.schema_migrations; then store
# the installation settings (first value wins: changing the cell precision
# or slot length of loaded data would make the aggregates disagree).
# Connects with the PG* environment as the cluster's bootstrap superuser.
#
# TRIPLINE_CELL_PRECISION and TRIPLINE_SLOT_MINUTES, unset or empty for the
# defaults 6 and 60, are checked before anything is written: a value the
# programs cannot use, once kept, failed every job ("could not aggregate").
# One that differs from the kept value is ignored, and said so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
psql() { command psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# setting ENV DEFAULT MIN MAX: the value of ENV (DEFAULT when unset or
# empty) without leading zeros, or exit when it is not an integer in range
# (the ranges the runner accepts: jobs/aggregate.c, jobs/loader.c).
setting() {
	local v=${!1:-$2}
	if ! [[ $v =~ ^[0-9]{1,5}$ ]] || ((10#$v < $3 || 10#$v > $4)); then
		echo "migrate: $1 \"$v\": must be an integer from $3 to $4" >&2
		exit 1
	fi
	echo $((10#$v))
}
p=$(setting TRIPLINE_CELL_PRECISION 6 1 12)
s=$(setting TRIPLINE_SLOT_MINUTES 60 1 1440)

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
psql -v p="$p" -v s="$s" <<'SQL'
INSERT INTO tripline.settings (key, value) VALUES
	('cell_precision', :'p'), ('slot_minutes', :'s')
ON CONFLICT (key) DO NOTHING;
SQL
# A value given that is not the kept one: the groups stay at the kept one.
for k in cell_precision:TRIPLINE_CELL_PRECISION:"$p" slot_minutes:TRIPLINE_SLOT_MINUTES:"$s"; do
	IFS=: read -r key env want <<<"$k"
	kept=$(psql -At -v key="$key" <<<"SELECT value FROM tripline.settings WHERE key = :'key'")
	if [ -n "${!env:-}" ] && [ "$kept" != "$want" ]; then
		echo "migrate: $env=${!env} ignored: this installation keeps $kept" \
		    "(set at its first start; docs/reports.md, \"Cells and slots\")" >&2
	fi
done
