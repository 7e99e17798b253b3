#!/usr/bin/env bash
# tools/hash-check.sh - compare every run's event hash with another commit.
#
# usage: tools/hash-check.sh [BASE]      (default BASE: HEAD)
#
# Builds the test programs of BASE (from a temporary worktree) and of the
# working tree, each linked with tools/hash-wrap.c, runs every test
# program of both on one CPU switch, and lists the runs whose event count
# or hash differ.  Runs on several CPUs differ from run to run by design;
# they are listed too and must be read as such.  Exits 1 if any differ.
set -euo pipefail

base=${1:-HEAD}
here=$(cd "$(dirname -- "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$here" worktree add --quiet --detach "$work/base" "$base"

# Build tree $1 into $1/build-hash with the wrapper, run its tests into $2.
measure() {
    local tree=$1 out=$2
    cc -std=c11 -fPIC -O2 -I"$here/include" -c -o "$work/wrap.o" \
        "$here/tools/hash-wrap.c"
    make -C "$tree" -s -j"$(nproc)" BUILD=build-hash \
        LDFLAGS="-Wl,--wrap=hs_sim_run $work/wrap.o" tests >/dev/null
    : >"$out"
    for t in "$tree"/build-hash/tests/test_*; do
        HOPSIM_HASH_FILE=$out "$t" >/dev/null 2>&1 || true
    done
    rm -rf "$tree/build-hash"
}

measure "$work/base" "$work/base.txt"
measure "$here" "$work/now.txt"
runs=$(wc -l <"$work/now.txt")
if diff "$work/base.txt" "$work/now.txt" >"$work/diff.txt"; then
    echo "hash-check: $runs runs, every event count and hash as at $base"
    exit 0
fi
echo "hash-check: runs that differ from $base (< $base, > now):"
cat "$work/diff.txt"
exit 1
