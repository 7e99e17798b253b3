#!/usr/bin/env bash
# tests/gdb/run.sh - check the gdb commands of tools/hopsim-gdb.py.
#
# usage: tests/gdb/run.sh [PROGRAM]
#
# PROGRAM defaults to $HOPSIM_GDB_PROG, else build/examples/tour; it is not
# built here (`make test` builds it first and calls this script through
# tools/run-tests.sh, once per context switch).  gdb runs the tour in batch
# mode and stops in back_handler, where the client's thread has hopped
# client -> front -> back; then hs threads, hs procs, hs hops, hs bt and
# hs finish run, and the program is let run to its end.  A core file written
# at the breakpoint is then read by a second gdb: hs hops and hs bt again.
# Each check prints PASS or FAIL; the last line is "N passed, N failed";
# exit 1 if any check failed (the whole gdb transcript is printed then).
# Without gdb, gdb's Python, or permission to ptrace, the test says why it
# is skipped and exits 0.  Needs no tty and no stdin.  HOPSIM_GDB_SCRIPT
# (another script), GDB (another gdb) and HOPSIM_GDB_TIMEOUT (seconds per
# gdb run, default 120) are for trying things out.
set -uo pipefail

here=$(cd "$(dirname -- "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
prog=${1:-${HOPSIM_GDB_PROG:-$root/build/examples/tour}}
script=${HOPSIM_GDB_SCRIPT:-$root/tools/hopsim-gdb.py}
GDB=${GDB:-gdb}
# The checks expect the unseeded interleaving (servers already serving).
unset HOPSIM_SEED

skip() {
    echo "# SKIP gdb test: $*"
    echo "0 passed, 0 failed"
    exit 0
}

if ! command -v "$GDB" >/dev/null 2>&1; then
    skip "$GDB is not installed (sudo apt-get install -y gdb)"
fi
if [ ! -x "$prog" ]; then
    echo "gdb test: $prog is not an executable program (run make first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
py=$("$GDB" -nx -batch -ex 'python print("hs-python-ok")' </dev/null 2>&1)
case $py in
    *hs-python-ok*) ;;
    *) skip "$GDB has no Python support" ;;
esac

out=$(mktemp "${TMPDIR:-/tmp}/hopsim-gdb.XXXXXX")
core=$out.core
trap 'rm -f "$out" "$core"' EXIT

echo "# gdb test: $prog (HOPSIM_SWITCH=${HOPSIM_SWITCH:-unset})"
# "echo @@ name" lines split the transcript into one section per command.
timeout -k 5 "${HOPSIM_GDB_TIMEOUT:-120}" "$GDB" -nx -batch \
    -iex 'set debuginfod enabled off' \
    -ex 'set confirm off' \
    -x "$script" \
    -ex 'break back_handler' \
    -ex 'run' \
    -ex "gcore $core" \
    -ex 'echo @@ threads\n' -ex 'hs threads' \
    -ex 'echo @@ procs\n' -ex 'hs procs' \
    -ex 'echo @@ hops\n' -ex 'hs hops' \
    -ex 'echo @@ bt-front\n' -ex 'hs bt front/main' \
    -ex 'echo @@ bt-missing\n' -ex 'hs bt 9999' \
    -ex 'echo @@ frame\n' -ex 'bt 1' \
    -ex 'echo @@ finish\n' -ex 'hs finish' \
    -ex 'echo @@ after\n' -ex 'bt 1' -ex 'hs hops' \
    -ex 'echo @@ end\n' -ex 'delete' -ex 'continue' \
    --args "$prog" </dev/null >"$out" 2>&1
rc=$?
# The same commands on the core file written at the breakpoint: parked
# contexts are unwound without a process (no registers to borrow).
if [ -s "$core" ]; then
    timeout -k 5 "${HOPSIM_GDB_TIMEOUT:-120}" "$GDB" -nx -batch \
        -iex 'set debuginfod enabled off' \
        -x "$script" \
        -ex 'echo @@ core-hops\n' -ex 'hs hops' \
        -ex 'echo @@ core-bt-front\n' -ex 'hs bt front/main' \
        -ex 'echo @@ core-end\n' \
        "$prog" "$core" </dev/null >>"$out" 2>&1
fi

if ! grep -q '^Breakpoint 1, back_handler' "$out" &&
   grep -Eq 'ptrace: Operation not permitted|Could not trace the inferior' \
       "$out"; then
    skip "gdb may not trace programs here (ptrace refused;" \
        "a container needs --cap-add=SYS_PTRACE)"
fi

# The lines of one section (between "@@ name" and the next "@@ ").
section() {
    awk -v s="@@ $1" '$0 == s { on = 1; next } /^@@ / { on = 0 } on' "$out"
}

# The frames of level $2 in the `hs hops` output of section $1.
level_frames() {
    section "$1" | awk -v l="^level $2 " '$0 ~ l { on = 1; next }
        /^(level |--- )/ { on = 0 } on'
}

# matches TEXT REGEX...: each extended regex matches some line of TEXT.
matches() {
    local text=$1 re
    shift
    for re in "$@"; do
        grep -Eq -- "$re" <<<"$text" || return 1
    done
}

# has SECTION REGEX...: each regex matches some line of the section.
has() {
    local name=$1
    shift
    matches "$(section "$name")" "$@"
}

# in_order SECTION REGEX...: the section's level and hop lines are exactly
# these, in this order.
in_order() {
    local lines re i=0
    mapfile -t lines < <(section "$1" | grep -E '^(level [0-9]|--- hop from)')
    shift
    [ "${#lines[@]}" -eq $# ] || return 1
    for re in "$@"; do
        grep -Eq -- "$re" <<<"${lines[$i]}" || return 1
        i=$((i + 1))
    done
}

passed=0
failed=0
check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "PASS: $what"
    else
        failed=$((failed + 1))
        echo "FAIL: $what"
    fi
}

n="[0-9]+"
# The chain client -> front -> back, top level first.
chain3=("^level 2 in process $n 'back' \(running\)$"
        "^--- hop from 'front' via port 'back' \(checkpoint\) ---$"
        "^level 1 in process $n 'front' \(parked at its hop\)$"
        "^--- hop from 'client' via port 'front' \(checkpoint\) ---$"
        "^level 0 in process $n 'client', its home \(parked at its hop\)$")

check "gdb stops in back_handler (client -> front -> back)" \
    grep -q '^Breakpoint 1, back_handler' "$out"
check "hs threads: the client's thread runs in process back, 2 hops deep" \
    has threads "^\*  *$n  *main  *$n 'client'  *$n 'back'  *running  *$n  *2  *on cpu0$"
check "hs threads: the servers' threads are parked in hs_proc_serve" \
    has threads "^  *$n  *main  *$n 'front'  *$n 'front'  *blocked .*hs_proc_serve" \
                "^  *$n  *main  *$n 'back'  *$n 'back'  *blocked .*hs_proc_serve"
check "hs procs: processes front, back and client" \
    has procs "^ *$n  +front  +alive " "^ *$n  +back  +alive " \
              "^ *$n  +client  +alive "
check "hs procs: named ports with their handlers" \
    has procs "port $n 'front' \(named, handler front_handler\)" \
              "port $n 'back' \(named, handler back_handler\)"
check "hs procs: a checkpoint in front (from client) and in back (from front)" \
    has procs \
    "checkpoint: thread $n 'main' from 'client', handler running at level 1" \
    "checkpoint: thread $n 'main' from 'front', handler running at level 2"
check "hs hops: the chain client -> front -> back, 3 levels" \
    has hops "^thread $n 'main' of process $n 'client', running: 3 level\(s\): client -> front -> back$"
check "hs hops: levels top down, each hop from the level below" \
    in_order hops "${chain3[@]}"
check "hs hops: level 2 runs back_handler" \
    matches "$(level_frames hops 2)" ' in back_handler at '
check "hs hops: level 1 is parked in hs_hop_call, called by front_handler" \
    matches "$(level_frames hops 1)" ' in hs_hop_call at ' ' in front_handler at '
check "hs hops: level 0 is parked in hs_hop_call, called by chain_client" \
    matches "$(level_frames hops 0)" ' in hs_hop_call at ' ' in chain_client at '
check "hs bt front/main: a parked thread unwound from its saved context" \
    has bt-front "^thread $n 'main' of process $n 'front', blocked" \
                 ' in sched_block at ' ' in hs_proc_serve at ' \
                 ' in chain_server at '
check "hs bt 9999: refused with a message" \
    grep -q '^hs: no thread 9999' "$out"
check "hs bt leaves the stopped thread's registers as they were" \
    has frame '^#0  back_handler '
check "hs finish: back in front's handler, the hop returned HS_OK" \
    has finish "^back in process 'front' at level 1$" \
               '^Value returned is .*HS_OK'
check "hs finish: the thread is one level down, in front_handler" \
    has after '^#0 +(0x[0-9a-f]+ in )?front_handler ' \
              "running: 2 level\(s\): client -> front$"
check "the tour's own backtrace across hops ran during hs finish" \
    has finish '^  hop chain: client -> front -> back$'
check "the program then runs to its end" \
    has end "^\[Inferior 1 \(process $n\) exited normally\]$"
# Under gdb, with registers borrowed and put back, the run must be the
# very same: part 5's summary line (event count and hash) as without gdb.
want=$("$prog" 2>&1 >/dev/null </dev/null | tail -n 1)
same_run() {
    [ -n "$want" ] && section end | grep -qxF -- "$want"
}
check "the run under gdb did what it does without gdb (${want#hopsim: })" \
    same_run
if [ -s "$core" ]; then
    check "core file: hs hops, levels top down" \
        in_order core-hops "${chain3[@]}"
    core_unwound() {
        matches "$(level_frames core-hops 1)" ' in front_handler at ' &&
            matches "$(level_frames core-hops 0)" ' in chain_client at '
    }
    check "core file: parked levels unwound (front_handler, chain_client)" \
        core_unwound
    check "core file: hs bt front/main reaches hs_proc_serve" \
        has core-bt-front ' in hs_proc_serve at ' ' in chain_server at '
else
    echo "# gdb could not write a core file (gcore): core file checks not run"
fi

if [ "$failed" -ne 0 ]; then
    echo "# gdb exited with status $rc; its transcript:"
    sed 's/^/#   /' "$out"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
