#!/usr/bin/env bash
# stack.sh: the local stack under var/ — a private PostgreSQL cluster, nginx,
# the FastCGI program and the job runners, each started by pid and stopped by
# pid.  Nothing here touches the system's own PostgreSQL or nginx.
#
#   scripts/stack.sh up | down | reset | status | runners N | pgrestart [MODE]
#
# Settings (environment; defaults in brackets):
#   TRIPLINE_VAR        state directory [<repo>/var]
#   TRIPLINE_HTTP_HOST  nginx address [127.0.0.1];  TRIPLINE_HTTP_PORT [8080]
#   TRIPLINE_PGPORT     PostgreSQL port (unix socket only) [54329]
#   TRIPLINE_BIN        where the binaries are [<repo>/build]
#   TRIPLINE_RUNNERS    job runners to start, at most 16 [1]
#   TRIPLINE_RIM_COMPACT an idle runner merges each job's groups, builds its
#                       rim table (a box's rim is counted from them) and
#                       merges rim tables when this many fit together;
#                       1 = all but the rim merge, 0 = no upkeep [2]
#   TRIPLINE_RIM_LAG    seconds a job's groups or rim table may wait for an
#                       idle runner; then one does them before its next
#                       job; 0 = no limit [600]
#   TRIPLINE_SPOOL_KEEP_FAILED seconds an idle runner keeps a failed upload's
#                       spool file before removing it (a succeeded or
#                       cancelled one goes at once); 0 = none [604800]
#   TRIPLINE_MAX_NEW_NAMES new region names, and new datasource names, one
#                       load may add; the rows of more are rejected;
#                       0 = no cap [1000]
#   TRIPLINE_SPLIT_BYTES a file larger than this is loaded in parts of about
#                       this size, by every runner at once; 0 = never [0]
#   TRIPLINE_THREADS    FastCGI worker threads, at most 63 [8]
#   TRIPLINE_MAX_UPLOAD largest upload in bytes [4294967296]
#   TRIPLINE_TOKEN      bearer token [generated once into var/token]
#   TRIPLINE_LEASE_SECONDS  a runner's lease; a dead runner's job is retried
#                       after it [30]
#   TRIPLINE_MAX_ATTEMPTS   attempts before a job fails [3]
#   TRIPLINE_REPORTS_PUBLIC 0 = the reports need the token too [1]
#   TRIPLINE_AGG_MAP_KEYS   a cap on the keys of each of the runner's
#                       aggregate maps in memory before it spills to disk;
#                       lowers their own sizes, never raises them [262144]
#   TRIPLINE_USER       OS user for everything when run as root [tripline]
#   TRIPLINE_PG_SHARED_BUFFERS [512MB];  TRIPLINE_PG_FSYNC [on]  written into
#                       the cluster's postgresql.conf at its first start
#   TRIPLINE_SUBMIT_RATE, TRIPLINE_SUBMIT_BURST  POSTs per second per client [20, 200]
#   TRIPLINE_UPLOAD_CONN uploads at once per client address [4]
#   TRIPLINE_CELL_PRECISION  geohash characters of a trip-group cell [6]
#   TRIPLINE_SLOT_MINUTES    minutes of a time-of-day slot [60]
#   TRIPLINE_LOG_LEVEL   least level the programs log: debug, info, warn, error [info]
#   DEMO                 1 = load a generated demo file on up [1]
#   TRIPLINE_DEMO_ROWS   rows of the demo file [10000]
set -euo pipefail
# What the stack writes is its user's (and group's): the logs quote
# rejected rows' values and job file names, the cluster holds the trips.
umask 027

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${TRIPLINE_VAR:-$ROOT/var}
HOST=${TRIPLINE_HTTP_HOST:-127.0.0.1}
PORT=${TRIPLINE_HTTP_PORT:-8080}
PGPORT_=${TRIPLINE_PGPORT:-54329}
BIN=${TRIPLINE_BIN:-$ROOT/build}
RUNNERS=${TRIPLINE_RUNNERS:-1}
PGBIN=/usr/lib/postgresql/15/bin
# A user's PATH on Debian has no /usr/sbin (login.defs): name nginx there
# when the PATH does not find it.
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
DB=tripline
ADMIN=tripline_admin
URL="http://$HOST:$PORT"

STARTED=()	# what this run started, oldest first: a failed up stops them

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

# A runner holds four connections (work, control, trips, dimensions:
# jobs/main.c, jobs/dimcache.c) and tripline_runner may hold 64
# (000_roles.sql, CONNECTION LIMIT).
runners_check() {
	case $RUNNERS in
	''|*[!0-9]*) ;;
	*) [ "$RUNNERS" -le 16 ] && return 0 ;;
	esac
	die "invalid TRIPLINE_RUNNERS: \"$RUNNERS\" (a whole number from 0 to 16)"
}

# PostgreSQL refuses to run as root, and nothing here needs root: as root,
# every process runs as an unprivileged user (created when missing).
if [ "$(id -u)" -eq 0 ]; then
	RUN_USER=${TRIPLINE_USER:-tripline}
	if ! id -u "$RUN_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$RUN_USER"
	fi
	RUN_GROUP=$(id -gn "$RUN_USER")
	as_user() { setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups -- "$@"; }
else
	RUN_USER=$(id -un)
	as_user() { "$@"; }
fi

# What var/ holds (past var/ itself) is the run user's, who may put a link
# anywhere in it: root writing a file there would write, and a chown give
# away, the link's target (/etc/passwd, say), and root reading one would
# show it (the token is printed).  So every file in var/ is written and
# read by the run user: stdin into a file (tee's options: -a appends),
# and files read to stdout.  A planted link leads that user only where it
# may go anyway.
user_write() { as_user tee "$@" >/dev/null; }
user_cat() { as_user cat -- "$@"; }

# The settings this script writes into a configuration itself (nginx's,
# PostgreSQL's port) or that migrate.sh reads once PostgreSQL runs (the
# cell precision and the slot): setting, least, most.  Checked before anything
# starts, as runners_check does; the programs check the settings only
# they read (lib/config.c) and stop naming the one they refuse, which
# wait_http then tells.
NUMBER_SETTINGS=(
	"TRIPLINE_HTTP_PORT 1024 65535"
	"TRIPLINE_PGPORT 1 65535"
	"TRIPLINE_MAX_UPLOAD 1 9223372036854775807"
	"TRIPLINE_SUBMIT_RATE 1 1000000"
	"TRIPLINE_SUBMIT_BURST 0 1000000"
	"TRIPLINE_UPLOAD_CONN 1 65535"
	"TRIPLINE_CELL_PRECISION 1 12"
	"TRIPLINE_SLOT_MINUTES 1 1440"
)

# The two PostgreSQL settings written into postgresql.conf at the cluster's
# first start: a value PostgreSQL refuses there would stop every later
# start until make reset.  shared_buffers: a whole number with an
# optional unit (PostgreSQL docs, 20.1.1: kB, MB, GB, TB; 8 kB blocks
# without one); fsync: a boolean PostgreSQL reads.
pg_settings_check() {
	local v=${TRIPLINE_PG_SHARED_BUFFERS:-}
	if [ -n "$v" ] && ! [[ $v =~ ^[1-9][0-9]{0,9}(kB|MB|GB|TB)?$ ]]; then
		die "invalid TRIPLINE_PG_SHARED_BUFFERS: \"$v\" (a whole number, with kB, MB, GB or TB)"
	fi
	v=${TRIPLINE_PG_FSYNC:-}
	case $v in
	""|on|off|true|false|yes|no|1|0) ;;
	*)	die "invalid TRIPLINE_PG_FSYNC: \"$v\" (on or off)" ;;
	esac
}

# The state directory and the checkout go into nginx's configuration
# (quoted), postgresql.conf and var/env (quoted), and PGHOST, which
# libpq splits at commas: a space is fine, not what those cannot hold.
paths_check() {
	local p
	for p in "$VAR" "$ROOT"; do
		case $p in
		*[\"\'\\\$,]*|*$'\n'*)
			die "unsupported path \"$p\": it may not hold a quote, a backslash, a \$, a comma or a line break" ;;
		esac
	done
}

numbers_check() {
	local line name min max v
	for line in "${NUMBER_SETTINGS[@]}"; do
		read -r name min max <<<"$line"
		v=${!name:-}
		[ -n "$v" ] || continue
		# Digits only; [ refuses (false) what overflows its integers.
		case $v in
		*[!0-9]*) ;;
		*)	[ "$v" -ge "$min" ] 2>/dev/null &&
			    [ "$v" -le "$max" ] 2>/dev/null && continue ;;
		esac
		die "invalid $name: \"$v\" (a whole number from $min to $max)"
	done
}

pidfile() { echo "$VAR/run/$1.pid"; }
# The runners with a pid file: runner-1, runner-2, ...
runner_names() {
	(cd "$VAR/run" 2>/dev/null && ls runner-*.pid 2>/dev/null | sed 's/\.pid$//') || true
}

# A process's start time (clock ticks after boot: proc(5), stat field
# 22), which exec keeps.  With the pid it names one process, where a pid
# alone is given again once its process has ended (a reboot, a kill -9).
proc_start() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

# The pid of name's pid file when that process is still name: its start
# time is the one start_prog wrote beside it or, for nginx (which writes
# its own pid file), it is the run user's nginx.  A stale pid file must
# not have down signal a stranger, nor up take one for the program.
ours() {
	local name=$1 f pid exe
	f=$(pidfile "$name")
	[ -s "$f" ] || return 1
	pid=$(user_cat "$f" 2>/dev/null) || return 1
	case $pid in ''|*[!0-9]*) return 1 ;; esac
	if [ -s "$VAR/run/$name.start" ]; then
		[ "$(proc_start "$pid")" = "$(user_cat "$VAR/run/$name.start" 2>/dev/null)" ] ||
		    return 1
	else
		[ "$(stat -c %U "/proc/$pid" 2>/dev/null)" = "$RUN_USER" ] ||
		    return 1
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
		case ${exe% (deleted)} in
		*/nginx|*/tripline-cgi|*/tripline-runner) ;;
		*) return 1 ;;
		esac
	fi
	echo "$pid"
}
alive() { ours "$1" >/dev/null; }

# nginx workers whose master was killed (kill -9): they keep the port,
# and no pid file names them.  This stack's are the run user's nginx
# processes with this stack's error log open.
nginx_orphans() {
	local d pid
	alive nginx && return 0
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$(stat -c %U "$d" 2>/dev/null)" = "$RUN_USER" ] || continue
		case $(readlink "$d/exe" 2>/dev/null) in
		*/nginx|*/nginx\ \(deleted\)) ;;
		*) continue ;;
		esac
		if ls -l "$d/fd" 2>/dev/null |
		    grep -qF -- "-> $VAR/log/nginx-error.log"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

# The environment every program and psql session of this stack uses.
write_env() {
	umask 077
	user_write "$VAR/env" <<-EOV
	export PGHOST='$VAR/run'
	export PGPORT='$PGPORT_'
	export PGDATABASE='$DB'
	export PGUSER='$ADMIN'
	export TRIPLINE_URL='$URL'
	export TRIPLINE_TOKEN='$TOKEN'
	export TRIPLINE_VAR='$VAR'
	EOV
	umask 027
}

# The environment of program $1 (cgi or runner), as NAME=value lines (a
# path may hold spaces).  Only the FastCGI program checks the token, so
# only it is given it.
prog_env() {
	[ "$1" = cgi ] && echo TRIPLINE_TOKEN="$TOKEN"
	printf '%s\n' PGHOST="$VAR/run" PGPORT="$PGPORT_" PGDATABASE="$DB" \
	    TRIPLINE_SPOOL="$VAR/spool" TRIPLINE_INBOX="$VAR/inbox" \
	    TRIPLINE_SOCKET="$VAR/run/cgi.sock" TRIPLINE_SQL_DIR="$ROOT/sql" \
	    TRIPLINE_THREADS="${TRIPLINE_THREADS:-8}" \
	    TRIPLINE_MAX_UPLOAD="${TRIPLINE_MAX_UPLOAD:-4294967296}" \
	    TRIPLINE_LEASE_SECONDS="${TRIPLINE_LEASE_SECONDS:-30}" \
	    TRIPLINE_MAX_ATTEMPTS="${TRIPLINE_MAX_ATTEMPTS:-3}" \
	    TRIPLINE_REPORTS_PUBLIC="${TRIPLINE_REPORTS_PUBLIC:-1}" \
	    TRIPLINE_AGG_MAP_KEYS="${TRIPLINE_AGG_MAP_KEYS:-262144}" \
	    TRIPLINE_SPLIT_BYTES="${TRIPLINE_SPLIT_BYTES:-0}" \
	    TRIPLINE_RIM_COMPACT="${TRIPLINE_RIM_COMPACT:-2}" \
	    TRIPLINE_RIM_LAG="${TRIPLINE_RIM_LAG:-600}" \
	    TRIPLINE_SPOOL_KEEP_FAILED="${TRIPLINE_SPOOL_KEEP_FAILED:-604800}" \
	    TRIPLINE_MAX_NEW_NAMES="${TRIPLINE_MAX_NEW_NAMES:-1000}" \
	    TRIPLINE_LOG_LEVEL="${TRIPLINE_LOG_LEVEL:-info}" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:log_path='$VAR/log/asan'}" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:log_path='$VAR/log/ubsan'}"
}

# Start a program in its own session, as the run user, by pid, with only
# prog_env's environment.  The environment is set by export in a subshell,
# not given to env(1) as arguments: a command line is readable by every
# user (/proc/PID/cmdline) while it runs, and the token is in it.  The
# subshell, setsid, setpriv and sh exec in place, so $! is the program's
# pid.  The log is opened by the run user (sh's redirection, after
# setpriv): var/log is that user's, and root opening a name there would
# follow a link that user put in its place (to /etc/passwd, say).
declare -A LOG_FROM	# each program's log size before this up started it

start_prog() {
	local name=$1 words path=$PATH pre; shift
	LOG_FROM[$name]=$(stat -c %s "$VAR/log/$name.log" 2>/dev/null || echo 0)
	words=$(prog_env "${name%%-*}")	# before the settings are unset
	pre=$(as_user_exec_prefix)
	(
		for v in $(compgen -e); do
			unset "$v" 2>/dev/null || true
		done
		export PATH="$path"
		while IFS= read -r kv; do
			export "${kv?}"
		done <<<"$words"
		# shellcheck disable=SC2086
		exec setsid $pre /bin/sh -c 'exec "$@" >>"$0" 2>&1' \
		    "$VAR/log/$name.log" "$@"
	) </dev/null 9>&- &
	local pid=$! start=
	start=$(proc_start "$pid") || true
	# Without its pid file, nothing would stop it: a failed up neither.
	if ! { echo "$pid" | user_write "$(pidfile "$name")" &&
	    if [ -n "$start" ]; then
		echo "$start" | user_write "$VAR/run/$name.start"
	    else
		as_user rm -f "$VAR/run/$name.start"
	    fi; }; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true	# (and bash says nothing of it)
		as_user rm -f "$(pidfile "$name")" "$VAR/run/$name.start"
		die "could not write the pid file of $name in $VAR/run"
	fi
}

prepare_dirs() {
	mkdir -p "$VAR"
	if [ "$(id -u)" -eq 0 ]; then
		# Only what the run user does not own yet.  Not into pgdata:
		# initdb made it as the run user, and a running server creates
		# and deletes files there as chown walks it ("No such file or
		# directory" failed a start of runners); so does a running
		# program in the spool (uploads, the spool sweep), whose files
		# are the run user's already.  -h: a symbolic link is the
		# link's, never its target's: root's link in the inbox to a
		# file elsewhere gave that file to the run user, and a link to
		# itself failed the start ("Too many levels of symbolic links").
		find "$VAR" -path "$VAR/pgdata" -prune -o \
		    \( ! -user "$RUN_USER" -o ! -group "$RUN_GROUP" \) \
		    -exec chown -h "$RUN_USER:$RUN_GROUP" {} +
		if ! as_user test -r "$ROOT/sql/migrations/001_core.sql" &&
		    [ "${CI:-}" = true ]; then
			# A CI clone may sit below a directory only root can
			# search; let the run user through (search, not list).
			local d=$ROOT
			while [ "$d" != / ]; do
				chmod o+x "$d"
				d=$(dirname "$d")
			done
		fi
		as_user test -r "$ROOT/sql/migrations/001_core.sql" ||
		    die "user $RUN_USER cannot read $ROOT; make its parent directories searchable (chmod o+x) or set TRIPLINE_USER"
	fi
	# By the run user, into its own var/ (see user_write).
	as_user mkdir -p "$VAR"/{run,log,spool,inbox,nginx/{client_body,proxy,fastcgi,uwsgi,scgi}}
	if ! as_user test -s "$VAR/token"; then
		openssl rand -hex 24 | ( umask 077; user_write "$VAR/token" ) ||
		    die "could not write $VAR/token"
	fi
	TOKEN=${TRIPLINE_TOKEN:-}
	if [ -z "$TOKEN" ]; then
		TOKEN=$(user_cat "$VAR/token") || die "could not read $VAR/token"
	fi
	# Made before by a run with a wider umask, maybe.  By their owner:
	# root's chmod would follow a link the run user put in their place.
	as_user chmod 750 "$VAR/run" "$VAR/log"
}

pg_running() { as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" status >/dev/null 2>&1; }

pg_up() {
	if [ ! -s "$VAR/pgdata/PG_VERSION" ]; then
		say "initialising PostgreSQL cluster in $VAR/pgdata"
		# trust on the unix socket only: the socket directory is 0750 and
		# owned by the run user, so only it (and root) can connect.
		# Its log opened by the run user, as start_prog's.
		as_user /bin/sh -c 'exec "$@" >"$0" 2>&1' "$VAR/log/initdb.log" \
		    "$PGBIN/initdb" -D "$VAR/pgdata" -U "$ADMIN" --auth=trust \
		    -E UTF8 --locale=C.UTF-8 ||
		    die "initdb failed, see $VAR/log/initdb.log"
		user_write -a "$VAR/pgdata/postgresql.conf" <<-EOC
		# tripline: private cluster, unix socket only
		listen_addresses = ''
		port = $PGPORT_
		unix_socket_directories = '"$VAR/run"'
		max_connections = 300
		shared_buffers = ${TRIPLINE_PG_SHARED_BUFFERS:-512MB}
		fsync = ${TRIPLINE_PG_FSYNC:-on}
		max_wal_size = 4GB
		checkpoint_timeout = 15min
		maintenance_work_mem = 512MB
		work_mem = 32MB
		# No replica or WAL archive reads this cluster, so WAL carries only
		# crash recovery: with wal_level = minimal (which needs
		# max_wal_senders = 0), a COPY into a table created in the same
		# transaction, and CREATE INDEX on it, write no WAL; the files are
		# synced at commit instead (PostgreSQL docs, 14.4.7 "Disable WAL
		# Archival and Streaming Replication").  The runner loads each job
		# into a partition it creates in its load transaction
		# (sql/migrations/004_partitions.sql).  Changing wal_level needs a
		# restart; docker/db.sh sets the same.
		wal_level = minimal
		max_wal_senders = 0
		EOC
	fi
	if ! pg_running; then
		STARTED+=(postgresql)
		# The port of this start, not the one written at initdb: a
		# port taken since is left by setting TRIPLINE_PGPORT (pg_ctl
		# restart keeps the option, postmaster.opts).
		as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" -l "$VAR/log/postgresql.log" \
		    -o "-p $PGPORT_" -w -t 60 start >/dev/null 9>&- ||
		    die "PostgreSQL did not start, see $VAR/log/postgresql.log (is port $PGPORT_ free?)"
	fi
	export PGHOST="$VAR/run" PGPORT="$PGPORT_" PGUSER="$ADMIN"
	if [ -z "$(psql -d postgres -XAtc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
		psql -d postgres -Xq -c "CREATE DATABASE $DB"
	fi
	# Unset stays unset: migrate.sh warns only of a value that was given.
	PGDATABASE=$DB TRIPLINE_CELL_PRECISION=${TRIPLINE_CELL_PRECISION-} \
	    TRIPLINE_SLOT_MINUTES=${TRIPLINE_SLOT_MINUTES-} "$ROOT/scripts/migrate.sh"
}

# The template's fields (nginx/nginx.conf.in): field|setting|value, the
# setting being what a user sets to change it.
nginx_fields() {
	printf '%s|%s|%s\n' \
	    VAR TRIPLINE_VAR "$VAR" \
	    HOST TRIPLINE_HTTP_HOST "$HOST" \
	    PORT TRIPLINE_HTTP_PORT "$PORT" \
	    SOCKET TRIPLINE_VAR "$VAR/run/cgi.sock" \
	    WWW "the checkout" "$ROOT/nginx/www" \
	    MAX_BODY TRIPLINE_MAX_UPLOAD "${TRIPLINE_MAX_UPLOAD:-4294967296}" \
	    SUBMIT_RATE TRIPLINE_SUBMIT_RATE "${TRIPLINE_SUBMIT_RATE:-20}" \
	    SUBMIT_BURST TRIPLINE_SUBMIT_BURST "${TRIPLINE_SUBMIT_BURST:-200}" \
	    UPLOAD_CONN TRIPLINE_UPLOAD_CONN "${TRIPLINE_UPLOAD_CONN:-4}"
}

# The configuration from the template and the field|setting|value lines
# on stdin, after a header of "# field NAME value" lines: the values it
# was made with, which stale() reads back.
nginx_conf_from() {
	local field setting value args=()
	echo "# made by scripts/stack.sh from nginx/nginx.conf.in, with the fields:"
	while IFS='|' read -r field setting value; do
		printf '# field %s %s\n' "$field" "$value"
		# sed's replacement: \, & and the | delimiter as themselves.
		value=${value//\\/\\\\}
		value=${value//&/\\&}
		args+=(-e "s|@$field@|${value//|/\\|}|g")
	done
	sed "${args[@]}" "$ROOT/nginx/nginx.conf.in"
}

nginx_conf() { nginx_fields | nginx_conf_from; }

# The fields of the running nginx configuration, as nginx_fields prints
# them (empty values when it has no header).
nginx_fields_running() {
	local field setting value
	while IFS='|' read -r field setting value; do
		printf '%s|%s|%s\n' "$field" "$setting" \
		    "$(user_cat "$VAR/nginx/nginx.conf" | sed -n "s/^# field $field //p")"
	done < <(nginx_fields)
}

nginx_up() {
	alive nginx && return 0
	nginx_conf | user_write "$VAR/nginx/nginx.conf"
	STARTED+=(nginx)
	nginx_orphans
	as_user "$NGINX" -e "$VAR/log/nginx-error.log" -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" 9>&- ||
	    die "nginx did not start, see $VAR/log/nginx-error.log (is port $PORT free?)"
}

# The command prefix that drops to the run user, as words for start_prog
# (a shell function cannot be exec'd).
as_user_exec_prefix() {
	if [ "$(id -u)" -eq 0 ]; then
		echo setpriv --reuid="$RUN_USER" --regid="$RUN_GROUP" --init-groups --
	fi
}

progs_up() {
	local i
	if ! alive cgi; then
		as_user rm -f "$VAR/run/cgi.sock"
		# Before it starts, so before it reads sql/reports (stale()).
		as_user touch "$VAR/run/cgi.started"
		start_prog cgi env TRIPLINE_DB_USER=tripline_web "$BIN/tripline-cgi"
		STARTED+=(cgi)
	fi
	for i in $(seq 1 "$RUNNERS"); do
		alive "runner-$i" && continue
		start_prog "runner-$i" env TRIPLINE_DB_USER=tripline_runner "$BIN/tripline-runner"
		STARTED+=("runner-$i")
	done
}

# The runners above TRIPLINE_RUNNERS, left by an up that asked for more:
# an up with fewer stops them (a stopping runner queues its job again,
# the attempt not counted).  Only up: "runners N" starts, never stops.
runners_trim() {
	local n
	for n in $(runner_names); do
		if [ "${n#runner-}" -gt "$RUNNERS" ]; then
			stop_pid "$n"
			say "stopped $n (TRIPLINE_RUNNERS=$RUNNERS)"
		fi
	done
}

# One line of stale(): the setting as a user names it, with the running
# value and the asked one (never the token's).
differs() {
	case $1 in
	TRIPLINE_TOKEN)	echo "TRIPLINE_TOKEN (not the running one)" ;;
	*)	echo "$1 (running ${2:-unset}, asked ${3:-unset})" ;;
	esac
}

# What of a running stack differs from this up's settings, one line each:
# an up leaves running programs as they are, so they would keep the old
# settings (or build, or nginx configuration) while var/env told the new
# ones.
stale() {
	local n pid envf want name field setting value had port conf=$VAR/nginx/nginx.conf
	for n in cgi $(runner_names); do
		alive "$n" || continue
		pid=$(cat "$(pidfile "$n")")
		# A rebuilt program reads "... (deleted)".
		[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$BIN/tripline-${n%%-*}")" ] ||
		    echo "a new build"
		envf=$(tr '\0' '\n' < "/proc/$pid/environ")
		while IFS= read -r want; do
			grep -qxF -- "$want" <<<"$envf" && continue
			name=${want%%=*}
			had=$(sed -n "s/^$name=//p" <<<"$envf")
			[ "$name" = PGPORT ] && name=TRIPLINE_PGPORT
			differs "$name" "$had" "${want#*=}"
		done < <(prog_env "${n%%-*}")
	done
	# The FastCGI program reads the report files once, at its start
	# (cgi/h_reports.c), after progs_up touched cgi.started.
	if alive cgi && [ -f "$VAR/run/cgi.started" ] &&
	    [ -n "$(find "$ROOT/sql/reports" -name '*.sql' \
	    -newer "$VAR/run/cgi.started" -print -quit 2>/dev/null)" ]; then
		echo "sql/reports (changed since the FastCGI program started)"
	fi
	if alive nginx && ! cmp -s <(nginx_conf) <(user_cat "$conf"); then
		if ! user_cat "$conf" | grep -q '^# field '; then
			# Made by a stack.sh that wrote no header.
			echo "the nginx configuration"
		elif ! cmp -s <(nginx_fields_running | nginx_conf_from) <(user_cat "$conf"); then
			echo "nginx/nginx.conf.in (changed since nginx started)"
		fi
		paste -d'|' <(nginx_fields) <(nginx_fields_running | cut -d'|' -f3-) |
		while IFS='|' read -r field setting value had; do
			[ -z "$had" ] || [ "$had" = "$value" ] ||
			    differs "$setting" "$had" "$value"
		done
	fi
	# postmaster.pid, line 4: the port the server listens on.
	port=$(user_cat "$VAR/pgdata/postmaster.pid" 2>/dev/null | sed -n 4p || true)
	if [ -n "$port" ] && [ "$port" != "$PGPORT_" ] && pg_running; then
		differs TRIPLINE_PGPORT "$port" "$PGPORT_"
	fi
}

# The programs of this up that have exited, one line each with the last
# error they logged since they started (a setting they refuse, a database
# they cannot reach), without the log line's time and program name.
exited() {
	local n from line
	for n in $(printf '%s\n' "${!LOG_FROM[@]}" | sort); do
		alive "$n" && continue
		from=${LOG_FROM[$n]}
		line=$(as_user tail -c +"$((from + 1))" "$VAR/log/$n.log" 2>/dev/null |
		    sed -n 's/^[^ ]* [^ ]* \(error\|fatal\): //p' | tail -n 1)
		echo "$n exited: ${line:-see $VAR/log/$n.log}"
	done
}

wait_http() {
	local i gone
	for i in $(seq 1 100); do
		if curl -fsS -o /dev/null "$URL/api/health" 2>/dev/null; then
			return 0
		fi
		# A program that stopped at start will not answer: say why now,
		# rather than after 20 s as "does not answer".
		gone=$(exited)
		if [ -n "$gone" ]; then
			printf '%s\n' "$gone" | sed -e '$d' -e 's/^/stack: /' >&2
			die "$(printf '%s\n' "$gone" | tail -n 1)"
		fi
		sleep 0.2
	done
	die "$URL/api/health does not answer; see $VAR/log/"
}

demo_load() {
	[ "${DEMO:-1}" = 0 ] && return 0
	local n
	n=$(psql -XAtc "SELECT count(*) FROM tripline.jobs" "$DB")
	[ "$n" = 0 ] || return 0
	as_user "$BIN/tripline-gen" -n "${TRIPLINE_DEMO_ROWS:-10000}" -s 1 \
	    -o "$VAR/inbox/demo.csv"
	# The header from a file (printf is a builtin): not in curl's argv.
	curl -fsS -o /dev/null -H @<(printf 'Authorization: Bearer %s\n' "$TOKEN") \
	    -H 'Content-Type: application/json' --data '{"path":"demo.csv"}' \
	    "$URL/api/jobs" || die "could not queue the demo file"
	say "queued the demo file ($VAR/inbox/demo.csv, ${TRIPLINE_DEMO_ROWS:-10000} rows)"
}

up() {
	local diff
	# Global: the EXIT trap may run after up() has unwound (set -e).
	UP_STOP="make down"
	runners_check
	paths_check
	numbers_check
	pg_settings_check
	# Another state directory: make down alone would stop the default one.
	# Quoted for a shell (%q) when the path holds a space.
	[ "$VAR" = "$ROOT/var" ] ||
	    UP_STOP="TRIPLINE_VAR=$(printf %q "$VAR") make down"
	for b in tripline-cgi tripline-runner tripline-gen; do
		[ -x "$BIN/$b" ] || die "$BIN/$b is missing; run make"
	done
	stack_lock -n
	prepare_dirs
	# One line per setting (runners and nginx may tell the same one).
	diff=$(stale | LC_ALL=C sort -u |
	    awk -F' [(]' '!seen[$1]++ { printf "%s%s", sep, $0; sep = ", " }')
	[ -z "$diff" ] ||
	    die "already running with other settings: $diff; to apply them: $UP_STOP, then make up; to keep the running stack instead: make up with what it runs (its values, build and sql/reports)"
	trap 'up_failed "$UP_STOP"' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	pg_up
	write_env
	progs_up
	runners_trim
	nginx_up
	wait_http
	demo_load
	trap - EXIT INT TERM
	cat <<-EOM

	tripline is up.
	  page:      $URL/
	  reports:   $URL/reports.html
	  API:       $URL/api/jobs
	  health:    $URL/api/health
	  token:     $TOKEN   (for POST /api/jobs and cancel)
	  database:  . $(printf %q "$VAR/env") && psql
	  logs:      $VAR/log/
	  stop:      $UP_STOP
	EOM
}

# An up that failed midway (a port taken, a program that does not answer)
# stops what it had started, newest first and by pid, and says so; what
# ran before it is left running, and named.
up_failed() {
	local rc=$? stop=$1 i n stopped=() left=()
	trap - EXIT INT TERM
	[ "$rc" -ne 0 ] || return 0
	set +e
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		n=${STARTED[i]}
		case $n in
		postgresql)
			pg_running || continue
			as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast -w stop >/dev/null 2>&1 ;;
		nginx)	alive nginx || continue; stop_pid nginx QUIT ;;
		*)	stop_pid "$n" ;;
		esac
		stopped=("$n" "${stopped[@]}")
	done
	if [ ${#stopped[@]} -gt 0 ]; then
		printf 'stack: stopped what this up had started: %s\n' \
		    "$(printf '%s\n' "${stopped[@]}" | paste -sd, | sed 's/,/, /g')" >&2
	fi
	for n in nginx cgi $(runner_names); do
		alive "$n" && left+=("$n")
	done
	pg_running && left+=(postgresql)
	if [ ${#left[@]} -gt 0 ]; then
		printf 'stack: still running from before: %s; to stop them: %s\n' \
		    "$(printf '%s\n' "${left[@]}" | paste -sd, | sed 's/,/, /g')" "$stop" >&2
	fi
	exit "$rc"
}

# One up or down at a time on a state directory: two ups at once each
# started PostgreSQL and stopped the other's.  flock(1) on the state
# directory, on fd 9, held until the script exits; an up that finds it taken
# says so, a down waits for it.  The fd is the same in a down that a
# failing up runs (its EXIT trap): a lock taken again on it is no wait.
# The programs, nginx and PostgreSQL are started with fd 9 closed (9>&-):
# a daemon that kept it would hold the lock for as long as it runs.
stack_lock() {
	mkdir -p "$VAR"
	# On var/ itself, opened to read: a lock file in it would be the run
	# user's to replace by a link, which root would open (and create).
	[ -e /proc/self/fd/9 ] || exec 9<"$VAR"
	flock "$@" 9 || die "another make up or make down runs on $VAR"
}

stop_pid() {
	local name=$1 sig=${2:-TERM} pid i
	if pid=$(ours "$name"); then
		kill -"$sig" "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
	fi
	as_user rm -f "$(pidfile "$name")" "$VAR/run/$name.start"
}

down() {
	[ -d "$VAR/run" ] || return 0
	stack_lock -w 120
	stop_pid nginx QUIT
	nginx_orphans
	stop_pid cgi
	local f
	for f in "$VAR"/run/runner-*.pid; do
		[ -e "$f" ] && stop_pid "$(basename "$f" .pid)"
	done
	if [ -s "$VAR/pgdata/PG_VERSION" ]; then
		as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" -m fast -w stop >/dev/null 2>&1 || true
	fi
	say "tripline stopped (data kept in $VAR)"
}

status() {
	local n
	for n in nginx cgi $(runner_names); do
		if alive "$n"; then say "$n: running (pid $(cat "$(pidfile "$n")"))"; else say "$n: stopped"; fi
	done
	as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" status >/dev/null 2>&1 &&
	    say "postgresql: running" || say "postgresql: stopped"
}

# Each log in var/log/ moved to .1 (.1 to .2, and so on; the fifth
# dropped), the log itself emptied.  Every writer appends (the programs'
# and nginx's redirections and pg_ctl -l open with O_APPEND), so after
# the truncation each writes at the new end, with no hole and no
# restart: logrotate's "copytruncate".  Lines written between the copy
# and the truncation are lost; run it when the stack is quiet.
rotate() {
	[ -d "$VAR/log" ] || return 0
	# As the run user, whose directory it is (see start_prog); a link
	# is not followed, neither as a log nor as a kept copy.
	as_user /bin/bash -c '
		set -eu
		for f in "$1"/*.log; do
			[ -f "$f" ] && [ ! -L "$f" ] && [ -s "$f" ] || continue
			for i in 4 3 2 1; do
				if [ -e "$f.$i" ] || [ -L "$f.$i" ]; then
					mv -f "$f.$i" "$f.$((i + 1))"
				fi
			done
			cp -p "$f" "$f.1"
			: > "$f"
		done' rotate "$VAR/log"
	say "logs rotated in $VAR/log (five kept of each)"
}

case "${1:-}" in
up)	up ;;
rotate)	rotate ;;
down)	down ;;
reset)	down >/dev/null; rm -rf "$VAR"; say "tripline stopped, $VAR removed" ;;
status)	status ;;
runners)	# make sure runners 1..N are running (tests start extra ones this way)
	RUNNERS=${2:?usage: $0 runners N}; runners_check; prepare_dirs; progs_up ;;
pgrestart)	# restart PostgreSQL under the running programs (fault tests);
	# MODE is pg_ctl's shutdown mode: fast (default) or immediate (a crash)
	as_user "$PGBIN/pg_ctl" -D "$VAR/pgdata" -l "$VAR/log/postgresql.log" \
	    -m "${2:-fast}" -w -t 60 restart >/dev/null ||
	    die "PostgreSQL did not restart, see $VAR/log/postgresql.log" ;;
*)	echo "usage: $0 up|down|reset|status|rotate|runners N|pgrestart [fast|immediate]" >&2; exit 2 ;;
esac
