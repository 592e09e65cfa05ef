#!/usr/bin/env bash
# run.sh: build the libFuzzer harnesses of tests/fuzz into build/fuzz/ and
# run them.
#
#   tests/fuzz/run.sh [smoke] [target...]   replay each committed corpus, then
#                                           fuzz each FUZZ_SECONDS (default 5)
#                                           on a copy in tests/fuzz/work/
#   tests/fuzz/run.sh long [target...]      fuzz each FUZZ_SECONDS (default
#                                           300), then merge new inputs back
#                                           into tests/fuzz/corpus/<target>/
#
# Targets are the short names (wkt, csv, ...).  FUZZ_JOBS targets run at
# once (default: the number of CPUs).  Prints one line per target and last
# "fuzz: N passed, N failed"; exits non-zero on any failure.  Crashing
# inputs are kept under tests/fuzz/work/artifacts/<target>/ (git-ignored).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1

MODE=smoke
case "${1:-}" in
smoke|long) MODE=$1; shift ;;
-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [ "$MODE" = long ]; then
	SECONDS_EACH=${FUZZ_SECONDS:-300}
else
	SECONDS_EACH=${FUZZ_SECONDS:-5}
fi
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

# target | sources it needs (skipped until they exist) | -max_len
TARGETS=(
	"num|lib/num.c|256"
	"wkt|lib/wkt.c|256"
	"datetime|lib/datetime.c|128"
	"utf8|lib/utf8.c|4096"
	"geohash|lib/geohash.c|256"
	"csv|lib/csvstream.c lib/trip.c lib/datetime.c lib/wkt.c|16384"
	"query|cgi/query.c|4096"
	"multipart|cgi/multipart.c|16384"
	"sse|cgi/sse.c|8192"
	"safetext|lib/safetext.c|1024"
	"param|cgi/param.c|256"
	"inboxreq|cgi/inboxreq.c lib/safetext.c|8192"
	"hdrparam|cgi/hdrparam.c|4096"
	"split|jobs/split.c lib/csvstream.c|8192"
	"copybin|jobs/copybin.c|4096"
	"joberror|jobs/joberror.c lib/utf8.c|4096"
)

OUT=build/fuzz
WORK=tests/fuzz/work
CC_FUZZ=${CC_FUZZ:-clang}
# UBSan must abort, or libFuzzer would not count its reports as crashes.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS_FUZZ="-g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra $SAN -Ilib -Icgi -Ijobs -I/usr/include/postgresql"
LDLIBS_FUZZ="-lfcgi -lpq -lcsv -ljson-c -lcrypto -lm -pthread"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0 skipped=0
summary() {
	local extra=""
	[ "$skipped" -gt 0 ] && extra=", $skipped skipped"
	echo "fuzz: $passed passed, $failed failed$extra"
}

if ! command -v "$CC_FUZZ" >/dev/null 2>&1 ||
    ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' |
    "$CC_FUZZ" -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
	echo "fuzz: $CC_FUZZ with libFuzzer not found (install clang and libclang-rt-14-dev); skipping"
	skipped=${#TARGETS[@]}
	summary
	exit 0
fi

mkdir -p "$OUT/obj" "$WORK/logs" "$WORK/artifacts"

# 1 when $1 is missing or older than any later argument.
stale() {
	local t=$1 f
	shift
	[ -e "$t" ] || return 0
	for f in "$@"; do
		[ "$f" -nt "$t" ] && return 0
	done
	return 1
}

# Every library and cgi object (not main.c), and the runner's pure
# parsers, go into one archive, so a harness pulls in only what it uses and
# a colleague's unfinished file breaks only the targets that need it.
RUNNER_PURE="jobs/split jobs/copybin jobs/joberror"
archive_srcs() {
	local src m
	for src in lib/*.c cgi/*.c; do
		[ "$src" = cgi/main.c ] || echo "$src"
	done
	for m in $RUNNER_PURE; do
		echo "$m.c"
	done
}

build_archive() {
	local src obj objs=() hdrs=() pids=() p m
	for p in lib/*.h cgi/*.h; do
		[ -e "$p" ] && hdrs+=("$p")
	done
	for m in $RUNNER_PURE; do
		p=$m.h
		[ -e "$p" ] && hdrs+=("$p")
	done
	for src in $(archive_srcs); do
		[ -e "$src" ] || continue
		obj=$OUT/obj/${src%.c}.o
		mkdir -p "$(dirname "$obj")"
		if stale "$obj" "$src" "${hdrs[@]}"; then
			# shellcheck disable=SC2086
			( "$CC_FUZZ" $CFLAGS_FUZZ -fsanitize=fuzzer-no-link \
			    -c -o "$obj" "$src" >"$obj.log" 2>&1 ||
			    rm -f "$obj" ) &
			pids+=($!)
			if [ "${#pids[@]}" -ge "$JOBS" ]; then
				wait "${pids[0]}"
				pids=("${pids[@]:1}")
			fi
		fi
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for src in $(archive_srcs); do
		[ -e "$src" ] || continue
		obj=$OUT/obj/${src%.c}.o
		if [ -e "$obj" ]; then
			objs+=("$obj")
		else
			echo "fuzz: note: $src does not compile (see $obj.log)"
		fi
	done
	# Rebuilt only when an object or the set of objects changed, so the
	# harnesses are not relinked for nothing.
	if [ "${objs[*]}" != "$(cat "$OUT/libtripline.list" 2>/dev/null)" ] ||
	    stale "$OUT/libtripline.a" "${objs[@]}"; then
		rm -f "$OUT/libtripline.a"
		ar rcs "$OUT/libtripline.a" "${objs[@]}"
		echo "${objs[*]}" >"$OUT/libtripline.list"
	fi
}

# Build one harness; 0 on success.
build_target() {
	local t=$1 bin=$OUT/fuzz_$1
	if stale "$bin" "tests/fuzz/fuzz_$t.c" "$OUT/libtripline.a"; then
		# shellcheck disable=SC2086
		"$CC_FUZZ" $CFLAGS_FUZZ -Werror -fsanitize=fuzzer -o "$bin" \
		    "tests/fuzz/fuzz_$t.c" "$OUT/libtripline.a" $LDLIBS_FUZZ \
		    >"$OUT/fuzz_$t.build.log" 2>&1 || return 1
	fi
	return 0
}

# The newest file in directory $1 written after file $2 ("?" if none).
newest() {
	local f
	f=$(find "$1" -type f -newer "$2" -printf '%T@ %f\n' 2>/dev/null |
	    sort -rn | head -n 1 | cut -d' ' -f2-)
	echo "${f:-?}"
}

# Run one target; writes its result line to $WORK/logs/<t>.result.
run_target() {
	local t=$1 maxlen=$2 bin=$OUT/fuzz_$1 corpus=tests/fuzz/corpus/$1
	local art=$WORK/artifacts/$1/ log=$WORK/logs/$1.log dict=() crash
	local res=$WORK/logs/$1.result mark=$WORK/logs/$1.start
	mkdir -p "$corpus" "$art"
	: >"$mark"
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	local opts=(-timeout=5 -rss_limit_mb=1024 -max_len="$maxlen"
	    -artifact_prefix="$art" -print_final_stats=1 "${dict[@]}")
	: >"$log"
	if [ "$MODE" = smoke ]; then
		# Replay: every committed input must pass as it is.
		if ! "$bin" "${opts[@]}" -runs=0 "$corpus" >>"$log" 2>&1; then
			crash=$(newest "$art" "$mark")
			echo "fuzz_$t ... FAIL (corpus replay; crash saved in $art$crash, log $log)" >"$res"
			return
		fi
		rm -rf "${WORK:?}/$t"
		cp -r "$corpus" "$WORK/$t"
	else
		mkdir -p "$WORK/$t"
		cp -n "$corpus"/* "$WORK/$t"/ 2>/dev/null
	fi
	if ! "$bin" "${opts[@]}" -max_total_time="$SECONDS_EACH" \
	    "$WORK/$t" >>"$log" 2>&1; then
		crash=$(newest "$art" "$mark")
		echo "fuzz_$t ... FAIL (crash saved in $art$crash, log $log)" >"$res"
		return
	fi
	if [ "$MODE" = long ] &&
	    ! "$bin" "${opts[@]}" -merge=1 "$corpus" "$WORK/$t" >>"$log" 2>&1; then
		echo "fuzz_$t ... FAIL (merge, log $log)" >"$res"
		return
	fi
	echo "fuzz_$t ... ok ($(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+$') runs)" >"$res"
}

names=" "
for entry in "${TARGETS[@]}"; do
	names="$names${entry%%|*} "
done
for a in "$@"; do
	if [[ "$names" != *" $a "* ]]; then
		echo "fuzz: unknown target \"$a\" (known:$names)" >&2
		exit 2
	fi
done

build_archive

want=" $* "
runnable=() chosen=()
for entry in "${TARGETS[@]}"; do
	IFS='|' read -r t hdrs maxlen <<<"$entry"
	[ "$want" = "  " ] || [[ "$want" == *" $t "* ]] || continue
	chosen+=("$t")
	rm -f "$WORK/logs/$t.result"
	missing=""
	for h in "tests/fuzz/fuzz_$t.c" $hdrs; do
		[ -e "$h" ] || missing="$missing $h"
	done
	if [ -n "$missing" ]; then
		echo "fuzz_$t ... skipped (missing${missing})" >"$WORK/logs/$t.result"
		continue
	fi
	if ! build_target "$t"; then
		echo "fuzz_$t ... FAIL (build, see $OUT/fuzz_$t.build.log)" >"$WORK/logs/$t.result"
		continue
	fi
	runnable+=("$t|$maxlen")
done

pids=()
for entry in "${runnable[@]}"; do
	IFS='|' read -r t maxlen <<<"$entry"
	run_target "$t" "$maxlen" &
	pids+=($!)
	if [ "${#pids[@]}" -ge "$JOBS" ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
done
wait

for t in "${chosen[@]}"; do
	res=$WORK/logs/$t.result
	line=$(cat "$res" 2>/dev/null || echo "fuzz_$t ... FAIL (no result)")
	echo "$line"
	case "$line" in
	*" ... ok"*) passed=$((passed + 1)) ;;
	*" ... skipped"*) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
summary
[ "$failed" -eq 0 ]
