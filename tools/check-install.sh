#!/usr/bin/env bash
# tools/check-install.sh - install hopsim into a temporary prefix and build
# and run programs against it with the exact commands README.md gives.
#
# usage: tools/check-install.sh             (run by `make check-install`)
#        tools/check-install.sh --self-test prove the check can fail
#
# The commands are the lines of the ```sh blocks between the lines
# <!-- install-recipe --> and <!-- /install-recipe --> of README.md:
#   export ...     run first, with PREFIX set to the temporary prefix
#   cc ... / c++ ...
#                  each builds prog from a program of tests/ copied to
#                  prog.c or prog.cpp in a fresh folder, which then runs
#                  as ./prog and must print its line (below): a line
#                  naming a *-servers* package builds
#                  tests/install/names.c, one naming prog.cpp
#                  tests/cxx/prog.cpp, any other tests/install/prog.c.
#                  A line naming a *-static package must give a program
#                  that needs no libhopsim*.so and runs without
#                  LD_LIBRARY_PATH; any other must load libhopsim.so.0.
#   gdb ...        run on the shared servers program, in batch, with a
#                  breakpoint in it: the hs commands must have been
#                  auto-loaded from the prefix and must list its threads
#                  (skipped, saying why, without gdb or ptrace)
#   ./prog         how to run what was built (done after each build)
# The C block under "## A complete program" of README.md is built with the
# first shared `cc` line and run (unseeded, as the README runs it); its
# summary line must say status=HS_OK.
# `make install PREFIX=<tmp>` comes first and `make uninstall` last, which
# must leave no file behind.  Each check prints PASS or FAIL; the last
# line is "check-install: N passed, N failed"; exit 1 if any failed.
# Environment: MAKE (the make to run, with its variables: `make
# check-install` passes its own), README (default README.md), VERSION
# (default: the Makefile's).
set -uo pipefail

root=$(cd "$(dirname -- "$0")/.." && pwd)
readme=${README:-$root/README.md}
make=${MAKE:-make}
version=${VERSION:-$(sed -n 's/^VERSION *:= *//p' "$root/Makefile")}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hopsim-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# A README whose recipe does not build (nothing is installed for the
# self-test), one whose program does not print its line, and one with no
# recipe at all must each fail.
if [ "${1:-}" = --self-test ]; then
    recipe_md() {
        printf '%s\n' '<!-- install-recipe -->' '```sh' "$1" '```' \
            '<!-- /install-recipe -->'
    }
    recipe_md 'cc -o prog prog.c $(pkg-config --cflags --libs hopsim)' >"$tmp/nobuild.md"
    recipe_md "cc -o prog -x c - <<<'int main(void) { return 0; }' # hopsim-static" \
        >"$tmp/silent.md"
    echo 'no recipe here' >"$tmp/none.md"
    for md in nobuild silent none; do
        rc=0
        out=$(CHECK_INSTALL_NO_MAKE=1 README=$tmp/$md.md bash "$0" 2>&1) || rc=$?
        if [ "$rc" -ne 1 ] || ! grep -q '^FAIL' <<<"$out"; then
            printf '%s\n' "$out"
            echo "check-install self-test: FAIL: a broken recipe ($md.md) was not reported (exit $rc)" >&2
            exit 1
        fi
    done
    echo "check-install self-test: ok (a recipe that does not build, a program" \
         "that does not print its line, a README without a recipe: each fails)"
    exit 0
fi

pass=0
fail=0
ok() {
    echo "PASS $*"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL $*"
    fail=$((fail + 1))
}
finish() {
    echo "check-install: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

# The recipe: the lines of the sh blocks inside the markers.
recipe=$(awk '
    /^<!-- install-recipe -->$/ { inside = 1; next }
    /^<!-- \/install-recipe -->$/ { inside = 0 }
    inside && /^```/ { code = !code; next }
    inside && code && NF { print }' "$readme")
if ! grep -qE '^(cc|c\+\+) ' <<<"$recipe"; then
    bad "README: no cc line between <!-- install-recipe --> and <!-- /install-recipe --> in $readme"
    finish
fi

# Programs run as a user would, not with the test runner's settings.
unset PKG_CONFIG_PATH LD_LIBRARY_PATH HOPSIM_SEED HOPSIM_SWITCH HOPSIM_FAULTS \
    HOPSIM_STRATEGY HOPSIM_LOG HOPSIM_TRACE HOPSIM_MSC
if [ -z "${CHECK_INSTALL_NO_MAKE:-}" ]; then
    if "$make" --no-print-directory PREFIX="$prefix" install >"$tmp/install.log" 2>&1; then
        ok "make install PREFIX=<tmp>"
    else
        cat "$tmp/install.log"
        bad "make install PREFIX=<tmp>"
        finish
    fi
fi

exports=$(grep '^export ' <<<"$recipe" || true)
# Run one recipe line in dir with the README's exports.
recipe_run() {
    (cd "$1" && PREFIX=$prefix bash -c "$exports
$2")
}

expected_of() {
    case $1 in
        *names.c) echo "hopsim-servers: svc label 5 rights 0x1, call 42" ;;
        *prog.cpp) echo "hopsim-cxx $version: hop 42, ipc 142" ;;
        *) echo "hopsim-install: hop 42, ipc 142, k 7, sched_init 8, pool_init 9" ;;
    esac
}

n=0
gdb_prog=""
while IFS= read -r line; do
    case $line in
        cc\ * | c++\ *) ;;
        *) continue ;;
    esac
    n=$((n + 1))
    dir=$tmp/prog$n
    mkdir -p "$dir"
    case $line in
        *prog.cpp*) src=tests/cxx/prog.cpp; dst=prog.cpp ;;
        *-servers*) src=tests/install/names.c; dst=prog.c ;;
        *) src=tests/install/prog.c; dst=prog.c ;;
    esac
    cp "$root/$src" "$dir/$dst"
    if ! out=$(recipe_run "$dir" "$line" 2>&1); then
        printf '%s\n' "$out"
        bad "build $src: $line"
        continue
    fi
    needed=$(readelf -d "$dir/prog" 2>/dev/null | grep -o 'libhopsim[^]]*' | tr '\n' ' ')
    case $line in
        *-static*)
            if [ -n "$needed" ]; then
                bad "$src: the static recipe's program loads $needed: $line"
                continue
            fi
            out=$(cd "$dir" && env -u LD_LIBRARY_PATH ./prog 2>&1)
            rc=$? ;;
        *)
            if ! grep -q 'libhopsim\.so\.0' <<<"$needed"; then
                bad "$src: the shared recipe's program does not load libhopsim.so.0: $line"
                continue
            fi
            out=$(recipe_run "$dir" ./prog 2>&1)
            rc=$?
            if [ "$src" = tests/install/names.c ]; then
                gdb_prog=$dir/prog
            fi ;;
    esac
    want=$(expected_of "$src")
    if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
        ok "$src built and run${needed:+ (loads $needed)}: $line"
    else
        printf '%s\n' "$out"
        bad "$src: ./prog exit $rc, expected \"$want\": $line"
    fi
done <<<"$recipe"

# The README's complete program (the first C block under "## A complete
# program"), built with the README's first shared recipe and run: it must
# end its run with HS_OK and print the answer 42, as the README says;
# then again under README_SEEDS seeds (default 1000), each of which must
# do the same, whatever order the seed runs its threads in.
first_cc=$(grep -m1 -E '^cc .*pkg-config --cflags --libs hopsim\)' <<<"$recipe" || true)
awk '/^## A complete program/ { sec = 1; next }
     sec && /^```c$/ { code = 1; next }
     code && /^```$/ { exit }
     code { print }' "$readme" >"$tmp/complete.c"
if [ -z "${CHECK_INSTALL_NO_MAKE:-}" ] && [ -n "$first_cc" ]; then
    if [ ! -s "$tmp/complete.c" ]; then
        bad "README: no C block under \"## A complete program\" in $readme"
    else
        dir=$tmp/complete
        mkdir -p "$dir"
        cp "$tmp/complete.c" "$dir/prog.c"
        if ! out=$(recipe_run "$dir" "$first_cc" 2>&1); then
            printf '%s\n' "$out"
            bad "the README's complete program does not build: $first_cc"
        elif out=$(recipe_run "$dir" "env -u HOPSIM_SEED ./prog" 2>&1) &&
            grep -qE '^hopsim: .* status=HS_OK$' <<<"$out" &&
            grep -qx 'echo: 42' <<<"$out"; then
            ok "the README's complete program built and run: $first_cc"
            seeds=${README_SEEDS:-1000}
            failed=$(recipe_run "$dir" "for s in \$(seq 1 $seeds); do
                HOPSIM_SEED=\$s ./prog >out.txt 2>&1 &&
                    grep -qx 'echo: 42' out.txt || echo \$s; done")
            if [ -z "$failed" ]; then
                ok "the README's complete program answers 42 under $seeds seeds"
            else
                bad "the README's complete program fails under seeds:" \
                    "$(head -c 200 <<<"$failed" | tr '\n' ' ')"
            fi
        else
            printf '%s\n' "$out"
            bad "the README's complete program did not end with HS_OK and answer 42"
        fi
    fi
fi

# gdb: the README's line, with batch commands after it.  In the servers
# program, service() runs in the process "init" beside the name server.
gdb_line=$(grep '^gdb ' <<<"$recipe" | head -n 1)
if [ -n "$gdb_line" ]; then
    if ! command -v gdb >/dev/null 2>&1; then
        echo "# SKIP gdb auto-load check: gdb is not installed"
    elif [ -z "$gdb_prog" ]; then
        bad "gdb: no shared servers program was built to debug"
    elif ! gdb -nx -batch -ex 'python print("hs-python-ok")' </dev/null 2>&1 |
            grep -q hs-python-ok; then
        echo "# SKIP gdb auto-load check: gdb has no Python"
    else
        out=$(recipe_run "$(dirname "$gdb_prog")" "timeout -k 5 120 $gdb_line \
            -batch -iex 'set debuginfod enabled off' -ex 'set confirm off' \
            -ex 'break service' -ex run -ex 'info auto-load python-scripts' \
            -ex 'hs threads' -ex kill" 2>&1 </dev/null)
        if grep -qiE 'ptrace|Operation not permitted' <<<"$out" &&
            ! grep -q 'Breakpoint 1,' <<<"$out"; then
            echo "# SKIP gdb auto-load check: gdb may not trace here"
        elif grep -qE '^Yes +.*/libhopsim\.so\.0-gdb\.py' <<<"$out" &&
            grep -qE '^ +tid +name +process' <<<"$out" &&
            grep -qE "^\* +[0-9]+ .* 1 'init' +running" <<<"$out"; then
            ok "gdb auto-loads the hs commands with libhopsim.so.0: $gdb_line"
        else
            printf '%s\n' "$out"
            bad "gdb: the hs commands were not auto-loaded, or hs threads failed: $gdb_line"
        fi
    fi
fi

if [ -z "${CHECK_INSTALL_NO_MAKE:-}" ]; then
    if ! "$make" --no-print-directory PREFIX="$prefix" uninstall >"$tmp/uninstall.log" 2>&1; then
        cat "$tmp/uninstall.log"
        bad "make uninstall PREFIX=<tmp>"
    elif left=$(find "$prefix" ! -type d) && [ -n "$left" ]; then
        printf '%s\n' "$left"
        bad "make uninstall left files behind"
    else
        ok "make uninstall PREFIX=<tmp> removed every file"
    fi
fi
finish
