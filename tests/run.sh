#!/usr/bin/env bash
# run.sh: every test of make test, in order: unit tests (ASan + UBSan), fuzz
# smoke runs, then the integration suite against a real stack.  Each part
# prints "<part>: N passed, N failed"; the last line adds them all up.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

passed=0 failed=0 skipped=0
tally() {	# add up "<part>: N passed, N failed[, N skipped]" lines of $1
	local line p f s
	line=$(grep -E '^[a-z_0-9-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		echo "$2 ... FAIL (no summary line)"
		return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(grep -oE '[0-9]+ skipped' <<<"$line" | cut -d' ' -f1)
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	[ "$3" -ne 0 ] && [ "$f" -eq 0 ] && { failed=$((failed + 1)); echo "$2 ... FAIL (exit $3)"; }
	return 0
}

out=$(mktemp)
echo "== unit tests"
for t in build/asan/unit/test_*; do
	[ -x "$t" ] || continue
	"$t" >"$out" 2>&1; rc=$?
	cat "$out"
	tally "$out" "$(basename "$t")" $rc
done

echo "== fuzz smoke"
if [ -x tests/fuzz/run.sh ]; then
	tests/fuzz/run.sh smoke >"$out" 2>&1; rc=$?
	cat "$out"
	tally "$out" fuzz $rc
fi

echo "== integration"
$PY tests/integration/run.py "$@" 2>&1 | tee "$out"; rc=${PIPESTATUS[0]}
tally "$out" integration $rc
rm -f "$out"

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
