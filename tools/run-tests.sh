#!/usr/bin/env bash
# tools/run-tests.sh - run hopsim's test programs and count the results.
#
# usage: tools/run-tests.sh [--ucontext] [--also PROG]... TEST... [-- WRAPPER...]
#
#   TEST...      test programs, or folders whose test_* programs to run;
#                they run in sorted order (by file name)
#   WRAPPER...   command prefix for each program, e.g. valgrind and its flags
#   --ucontext   after the first pass, run everything again with
#                HOPSIM_SWITCH=ucontext (the portable context-switch path)
#   --also PROG  one more program to run (and count) after the tests in each
#                pass, e.g. the tour example
#
# Each program prints its own CMocka summary; CMOCKA_MESSAGE_OUTPUT and
# CMOCKA_XML_FILE pass through untouched.  A failure does not stop the run.
# The runner's own lines start with "# " (comments in TAP), except the last,
# which is exactly "N passed, N failed", counting programs x passes.  Exits 1
# if anything failed.  HOPSIM_TEST_TIMEOUT (seconds, default 300) bounds
# each program, so a hung test fails instead of hanging CI.
set -uo pipefail

usage() {
    echo "usage: $0 [--ucontext] [--also PROG]... TEST... [-- WRAPPER...]" >&2
    exit 2
}

ucontext=0
also=()
tests=()
wrapper=()
while [ $# -gt 0 ]; do
    case $1 in
        --ucontext) ucontext=1; shift ;;
        --also) [ $# -ge 2 ] || usage; also+=("$2"); shift 2 ;;
        --) shift; wrapper=("$@"); break ;;
        -*) echo "run-tests: unknown option $1" >&2; usage ;;
        *) tests+=("$1"); shift ;;
    esac
done
timeout_s=${HOPSIM_TEST_TIMEOUT:-300}

# Expand folders, then sort, so the order never depends on how the
# programs were listed.
listed=()
for t in "${tests[@]}"; do
    if [ -d "$t" ]; then
        while IFS= read -r -d '' p; do
            listed+=("$p")
        done < <(find "$t" -maxdepth 1 -type f -name 'test_*' ! -name '*.*' -perm -u+x -print0)
    else
        listed+=("$t")
    fi
done
progs=()
if [ ${#listed[@]} -gt 0 ]; then
    while IFS= read -r -d '' p; do
        progs+=("$p")
    done < <(printf '%s\0' "${listed[@]}" | LC_ALL=C sort -z)
fi
for p in "${progs[@]}" "${also[@]}"; do
    if [ ! -x "$p" ] || [ -d "$p" ]; then
        echo "run-tests: $p is not an executable program" >&2
        exit 2
    fi
done
progs+=("${also[@]}")
# A run that runs nothing must not look green.
if [ ${#progs[@]} -eq 0 ]; then
    echo "# run-tests: error: no test programs to run" >&2
    echo "0 passed, 0 failed"
    exit 1
fi

passes=(default)
[ "$ucontext" -eq 1 ] && passes+=(ucontext)

passed=0
failed=0
failures=()
npass=${#passes[@]}
i=0
for pass in "${passes[@]}"; do
    i=$((i + 1))
    case $pass in
        default) label="default context switch (HOPSIM_SWITCH unset: fast path)" ;;
        ucontext) label="portable context switch (HOPSIM_SWITCH=ucontext)" ;;
    esac
    echo "#"
    echo "# ===== pass $i/$npass: $label ====="
    for prog in "${progs[@]}"; do
        name=$(basename -- "$prog")
        echo "# ----- $name ($pass) -----"
        rc=0
        if [ "$pass" = ucontext ]; then
            HOPSIM_SWITCH=ucontext timeout --foreground -k 10 "$timeout_s" \
                "${wrapper[@]}" "$prog" || rc=$?
        else
            env -u HOPSIM_SWITCH timeout --foreground -k 10 "$timeout_s" \
                "${wrapper[@]}" "$prog" || rc=$?
        fi
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
            echo "# ok: $name ($pass)"
        else
            failed=$((failed + 1))
            case $rc in
                124) why="timed out after ${timeout_s}s" ;;
                99) why="exit 99: valgrind reported errors" ;;
                129|1[3-9][0-9]|2[0-5][0-9]) why="killed by signal $((rc - 128))" ;;
                *) why="exit $rc" ;;
            esac
            failures+=("$name ($pass): $why")
            echo "# FAILED: $name ($pass): $why"
        fi
    done
done

echo "#"
echo "# ===== summary: ${#progs[@]} programs x $npass pass(es) ====="
for f in "${failures[@]}"; do
    echo "# failed: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
