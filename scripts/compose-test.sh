#!/usr/bin/env bash
# compose-test.sh (make compose-test): build the container images and run
# docker-compose.yml for real, with podman and podman-compose instead of
# Docker (no Docker engine runs on the project's machines, and no registry
# is reachable: the debian:bookworm-slim base comes from docker/build-base.sh).
#
# It starts the stack with two runners, uploads the sample through nginx,
# follows the job's event stream, checks the trips in PostgreSQL and every
# container's health check, restarts the stack to see the volumes keep the
# data, and tears everything down (containers, networks, volumes; the base
# image and the layer cache are kept, so a second run is faster).  Prints
# "compose: N passed, N failed" last and exits non-zero on any failure.
#
# Settings: TRIPLINE_COMPOSE_PROJECT [tripline-ct], TRIPLINE_COMPOSE_WORK
# [/var/tmp/tripline-compose-test] (logs, kept), TRIPLINE_SAMPLE [the shared
# 100-row sample, else a generated one], KEEP=1 leaves the stack running.
# Needs root: podman here runs rootful, and debootstrap needs root.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROJECT=${TRIPLINE_COMPOSE_PROJECT:-tripline-ct}
WORK=${TRIPLINE_COMPOSE_WORK:-/var/tmp/tripline-compose-test}
TAG=compose-test
LOG=$WORK/compose-test.log
export CONTAINERS_CONF=$ROOT/docker/containers.conf
START=$(date +%s)

passed=0 failed=0
say() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); say "$1 ... ok"; }
bad() { failed=$((failed + 1)); say "$1 ... FAIL${2:+ ($2)}"; }
die() {
	failed=$((failed + 1))
	say "compose-test: $*" >&2
	say "--- last lines of $LOG" >&2
	tail -n 40 "$LOG" >&2
	finish
}

[ "$(id -u)" -eq 0 ] || { say "compose-test: needs root (rootful podman, debootstrap)" >&2; exit 1; }
mkdir -p "$WORK"
chmod 700 "$WORK"	# the log holds this run's passwords
: > "$LOG"

# ---------------------------------------------------------------- tools
need=(podman runc debootstrap podman-compose iptables netavark aardvark-dns
      uidmap slirp4netns fuse-overlayfs curl python3 ca-certificates)
missing=()
for p in "${need[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
	    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >>"$LOG" 2>&1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 ||
	    { say "compose-test: apt-get install failed, see $LOG" >&2; exit 1; }
fi

# podman-compose runs from a copy of the compose file in WORK, so that a
# developer's .env beside the real one cannot change the test's settings
# (podman-compose 1.0.3 lets .env override the environment).
pc() { (cd "$WORK/project" && podman-compose -p "$PROJECT" "$@") >>"$LOG" 2>&1; }
ctr() { echo "${PROJECT}_$1_${2:-1}"; }

# Everything of the project, by label: containers, then volumes, networks.
cleanup() {
	local ids
	ids=$(podman ps -aq --filter "label=io.podman.compose.project=$PROJECT")
	[ -n "$ids" ] && podman rm -f -t 5 $ids >>"$LOG" 2>&1
	ids=$(podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT")
	[ -n "$ids" ] && podman volume rm -f $ids >>"$LOG" 2>&1
	ids=$(podman network ls -q --filter "label=io.podman.compose.project=$PROJECT")
	[ -n "$ids" ] && podman network rm -f $ids >>"$LOG" 2>&1
	return 0
}

# Every container's log into WORK/logs/, before they are removed.
save_logs() {	# $1: a subdirectory of WORK/logs
	local c d=$WORK/logs/$1
	rm -rf "$d"
	mkdir -p "$d"
	for c in $(podman ps -a --format '{{.Names}}' --filter "label=io.podman.compose.project=$PROJECT"); do
		podman logs -t "$c" > "$d/$c.log" 2>&1
	done
}

finish() {
	local rc
	save_logs last
	if [ "${KEEP:-0}" = 1 ]; then
		say "KEEP=1: the stack stays up (project $PROJECT, http://127.0.0.1:$PORT)"
	else
		cleanup
	fi
	say "compose-test took $(( $(date +%s) - START )) s; logs: $LOG, $WORK/logs/"
	say "compose: $passed passed, $failed failed"
	rc=0
	[ "$failed" -eq 0 ] || rc=1
	exit $rc
}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
rnd() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# Fresh secrets for every run: the stack must take them from the environment.
export TRIPLINE_TOKEN=$(rnd)
export TRIPLINE_DB_ADMIN_PASSWORD=$(rnd) TRIPLINE_DB_WEB_PASSWORD=$(rnd)
export TRIPLINE_DB_RUNNER_PASSWORD=$(rnd)
export TRIPLINE_HTTP_PORT=$PORT TRIPLINE_IMAGE_TAG=$TAG TRIPLINE_RUNNERS=2
export TRIPLINE_PG_SHARED_BUFFERS=128MB

cleanup
rm -rf "$WORK/project" "$WORK/logs"
mkdir -p "$WORK/project"
cp "$ROOT/docker-compose.yml" "$WORK/project/"

# ---------------------------------------------------------------- images
t=$(date +%s)
"$ROOT/docker/build-base.sh" >>"$LOG" 2>&1 || die "could not make the debian:bookworm-slim base"
for target in db nginx app; do
	old=$(podman image inspect -f '{{.Id}}' "tripline/$target:$TAG" 2>/dev/null)
	# Host networking: the build's apt reaches the mirror as the host does.
	podman build --pull=never --network=host --format=docker \
	    --ignorefile "$ROOT/docker/dockerignore" --target "$target" \
	    -t "tripline/$target:$TAG" -f "$ROOT/Dockerfile" "$ROOT" >>"$LOG" 2>&1 ||
	    die "podman build --target $target failed"
	# The image this one replaced (the layer cache stays).
	new=$(podman image inspect -f '{{.Id}}' "tripline/$target:$TAG" 2>/dev/null)
	[ -n "$old" ] && [ "$old" != "$new" ] && podman rmi "$old" >>"$LOG" 2>&1
done
ok "images built ($(( $(date +%s) - t )) s)"

# ---------------------------------------------------------------- up
wait_health() {	# GET /api/health through nginx until 200, up to $1 s
	local i
	for i in $(seq 1 "$1"); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/health")" = 200 ] && return 0
		sleep 1
	done
	return 1
}

t=$(date +%s)
pc up -d --no-build || die "podman-compose up failed"
t2=$(date +%s)
if wait_health 180; then
	ok "stack up ($(( t2 - t )) s), /api/health through nginx $(( $(date +%s) - t2 )) s later"
else
	bad "stack up" "no 200 from $URL/api/health"
	for c in db migrate cgi nginx runner; do
		say "--- logs of $(ctr $c)"; podman logs --tail 20 "$(ctr $c)" 2>&1
	done
	finish
fi

st=$(podman inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$(ctr migrate)" 2>/dev/null)
[ "$st" = "exited 0" ] && ok "migrate ran once and exited 0" || bad "migrate" "state: $st"

# podman runs health checks from systemd timers, and there is no systemd
# here: run each check by hand, as the engine would, until it passes.
healthy() {
	local c=$1 i
	for i in $(seq 1 30); do
		podman healthcheck run "$c" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}
for c in "$(ctr db)" "$(ctr cgi)" "$(ctr nginx)" "$(ctr runner 1)" "$(ctr runner 2)"; do
	healthy "$c" && ok "health check of $c" || bad "health check of $c"
done

# nginx sits on the front network only: it must not reach PostgreSQL.
if podman exec "$(ctr nginx)" bash -c 'exec 3<>/dev/tcp/db/5432' >/dev/null 2>&1; then
	bad "nginx cannot reach the database" "it connected to db:5432"
else
	ok "nginx cannot reach the database"
fi

code=$(curl -s -o "$WORK/page.html" -w '%{http_code}' "$URL/")
[ "$code" = 200 ] && ok "the page (GET /) from the nginx image" || bad "GET /" "HTTP $code"

# ---------------------------------------------------------------- upload
sample=${TRIPLINE_SAMPLE:-$ROOT/../shared/data/trips.csv}
if [ ! -r "$sample" ]; then
	sample=$WORK/sample.csv
	podman run --rm --entrypoint tripline-gen "tripline/app:$TAG" -n 100 -s 1 > "$sample" ||
	    die "could not generate a sample"
fi
rows=$(( $(grep -c '' "$sample") - 1 ))

code=$(curl -s -o "$WORK/noauth.json" -w '%{http_code}' -F "file=@$sample;type=text/csv" "$URL/api/jobs")
[ "$code" = 401 ] && ok "upload without the token is refused (401)" || bad "upload without token" "HTTP $code"

code=$(curl -s -o "$WORK/upload.json" -w '%{http_code}' \
    -H "Authorization: Bearer $TRIPLINE_TOKEN" -F "file=@$sample;type=text/csv" "$URL/api/jobs")
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/upload.json" 2>/dev/null)
if [ "$code" = 202 ] && [ -n "$job" ]; then
	ok "upload of $(basename "$sample") ($rows rows) through nginx: 202, job $job"
else
	bad "upload" "HTTP $code: $(head -c 300 "$WORK/upload.json")"
	finish
fi

# The job's event stream, from the start, while the runners work.
curl -sN --max-time 60 -D "$WORK/events.head" "$URL/api/jobs/$job/events" > "$WORK/events.txt" 2>/dev/null &
sse=$!

state=""
for i in $(seq 1 120); do
	curl -s -o "$WORK/job.json" "$URL/api/jobs/$job"
	state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$WORK/job.json" 2>/dev/null)
	case $state in succeeded|failed|cancelled) break ;; esac
	sleep 0.5
done
read -r loaded rejected < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["rows_loaded"], j["rows_rejected"])' "$WORK/job.json" 2>/dev/null)
if [ "$state" = succeeded ] && [ "$((loaded + rejected))" = "$rows" ] && [ "$loaded" -gt 0 ]; then
	ok "job $job succeeded: $loaded rows loaded, $rejected rejected"
else
	bad "job $job" "state ${state:-?}, loaded ${loaded:-?}, rejected ${rejected:-?} of $rows"
fi

psql_db() { podman exec "$(ctr db)" psql -XAtq -U tripline_admin -d tripline -c "$1" 2>>"$LOG"; }
n=$(psql_db "SELECT count(*) FROM tripline.trips WHERE job_id = $job")
[ "$n" = "$loaded" ] && ok "$n trips of job $job in PostgreSQL" || bad "trips in PostgreSQL" "${n:-?} rows, expected $loaded"

owners=$(psql_db "SELECT count(DISTINCT client_addr) FROM pg_stat_activity WHERE application_name = 'tripline-runner'")
[ "$owners" = 2 ] && ok "two runner containers connected (--scale via TRIPLINE_RUNNERS=2)" ||
    bad "two runners" "${owners:-?} runner addresses in pg_stat_activity"

# Give the stream a moment after the final state, then end our curl.
for i in $(seq 1 10); do
	grep -q succeeded "$WORK/events.txt" && break
	sleep 0.5
done
kill "$sse" 2>/dev/null; wait "$sse" 2>/dev/null
nev=$(grep -c '^event: ' "$WORK/events.txt")
if grep -qi '^content-type: text/event-stream' "$WORK/events.head" && [ "$nev" -gt 0 ] &&
    grep -q succeeded "$WORK/events.txt"; then
	ok "event stream: text/event-stream, $nev events, ending in succeeded"
else
	bad "event stream" "$nev events; head: $(tr -d '\r' < "$WORK/events.head" | head -n 1)"
fi

# A server-side file: written into the inbox volume (as the cgi's user),
# queued by name, read by a runner from the same volume.
wait_job() {	# $1 job id; prints "state loaded rejected" once final
	local i st
	for i in $(seq 1 120); do
		st=$(curl -s "$URL/api/jobs/$1" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["state"], j["rows_loaded"], j["rows_rejected"])' 2>/dev/null)
		case $st in succeeded*|failed*|cancelled*) echo "$st"; return ;; esac
		sleep 0.5
	done
	echo "${st:-unknown}"
}
if podman exec "$(ctr cgi)" tripline-gen -n 500 -s 3 -o /var/lib/tripline/inbox/compose-test.csv >>"$LOG" 2>&1; then
	code=$(curl -s -o "$WORK/inbox.json" -w '%{http_code}' -H "Authorization: Bearer $TRIPLINE_TOKEN" \
	    -H 'Content-Type: application/json' --data '{"path":"compose-test.csv"}' "$URL/api/jobs")
	ijob=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/inbox.json" 2>/dev/null)
	st=$(wait_job "${ijob:-0}")
	[ "$code" = 202 ] && [ "$st" = "succeeded 500 0" ] && ok "inbox file queued by name: job $ijob loaded 500 rows" ||
	    bad "inbox file" "HTTP $code, job ${ijob:-?}: $st"
else
	bad "inbox file" "tripline-gen in the cgi container failed"
fi

# ---------------------------------------------------------------- restart
# down keeps the named volumes: the data and the applied migrations stay.
save_logs first
t=$(date +%s)
pc down || bad "podman-compose down"
pc up -d --no-build || die "podman-compose up (again) failed"
if wait_health 120; then
	n2=$(psql_db "SELECT count(*) FROM tripline.trips WHERE job_id = $job")
	[ "$n2" = "$n" ] && ok "after down and up: the $n trips are still there ($(( $(date +%s) - t )) s)" ||
	    bad "volumes keep the data" "${n2:-?} trips after restart, had $n"
	applied=$(podman logs "$(ctr migrate)" 2>&1 | grep -c '^applying ')
	[ "$applied" = 0 ] && ok "migrate applied nothing the second time" ||
	    bad "second migrate" "applied $applied files again"
else
	bad "stack up after restart" "no 200 from /api/health"
fi

finish
