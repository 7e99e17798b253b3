#!/usr/bin/env bash
# tools/bench-callgrind.sh - where the instructions of one benchmark
# operation go, counted by callgrind.
#
# usage: tools/bench-callgrind.sh PROGRAM NAME [ITERS] [TOP]
#
#   PROGRAM   a benchmark program, e.g. build/bench/bench_hop
#   NAME      one of its lines, e.g. hop_roundtrip (lines timed with
#             bench_measure(): not timers_10k or threads_1m)
#   ITERS     operations per pass (default 20000)
#   TOP       functions to list (default 25)
#
# Runs the line twice under callgrind with a fixed count (BENCH_ITERS,
# BENCH_REPS=1: a warm-up pass and a timed pass), once with ITERS and once
# with 2 x ITERS, and divides the difference by the extra operations, so
# start-up, set-up and teardown cancel out.  Prints instructions per
# operation in total and per function (exclusive: the function's own
# instructions, not its callees').
set -euo pipefail

prog=${1:?usage: $0 PROGRAM NAME [ITERS] [TOP]}
name=${2:?usage: $0 PROGRAM NAME [ITERS] [TOP]}
iters=${3:-20000}
top=${4:-25}
command -v valgrind >/dev/null || { echo "$0: needs valgrind" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

profile() {     # profile ITERS OUTFILE
    BENCH_ITERS=$1 BENCH_REPS=1 valgrind --tool=callgrind -q \
        --callgrind-out-file="$2" "$prog" "$name" >/dev/null
    callgrind_annotate --auto=no --threshold=100 "$2" 2>/dev/null
}

profile "$iters" "$tmp/a.out" >"$tmp/a.txt"
profile $((2 * iters)) "$tmp/b.out" >"$tmp/b.txt"

# Each pass runs the loop twice (warm-up and timed), so the second profile
# did 2 x ITERS more operations than the first.
awk -v ops=$((2 * iters)) -v top="$top" -v name="$name" '
function parse(line,    n) {
    # "  1,234 (12.3%)  file.c:function [object]"
    if (!match(line, /^ *[0-9,]+ +\( *[0-9.]+%\) +/)) return 0
    fn = substr(line, RLENGTH + 1); sub(/ \[.*\]$/, "", fn)
    n = line; sub(/\(.*/, "", n); gsub(/[ ,]/, "", n)
    cost = n + 0
    return 1
}
FNR == 1 { pass++ }
parse($0) {
    if (fn ~ /PROGRAM TOTALS/) total[pass] = cost
    else c[pass, fn] += cost
    fns[fn] = 1
}
END {
    printf "%s: %.0f instructions per operation\n", name, (total[2] - total[1]) / ops
    for (f in fns) {
        d = (c[2, f] - c[1, f]) / ops
        if (d >= 0.5) printf "%10.1f  %s\n", d, f | "sort -rn | head -" top
    }
}' "$tmp/a.txt" "$tmp/b.txt"
