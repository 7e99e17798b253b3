#!/usr/bin/env bash
# tools/check-symbols.sh - libhopsim must not define a global symbol that a
# library it links with also defines, and the installed libraries must
# export hs_* names only.
#
# usage: tools/check-symbols.sh LIBHOPSIM.a
#        tools/check-symbols.sh --exports LIB.a|LIB.so ...
#        tools/check-symbols.sh --self-test   prove both checks can fail
#
# Programs link libhopsim.a statically, so any global function it defines
# takes the place of the system library's function of the same name for
# the whole process: a kernel function called sched_yield() would be run
# by glibc and the sanitizer runtimes whenever they mean the system call.
# The check compares libhopsim's defined globals with the dynamic symbols
# of libc, libunwind and libcmocka, and fails naming each clash.
#
# --exports: every global a static archive defines, and every symbol a
# shared library exports, must start with hs_.  A program has names of its
# own; a library that exported, say, the kernel's global k would have the
# program's k take its place (shared) or refuse to link (static).  The
# check fails naming each other name.
# Environment: CC (default cc), to find the libraries and, in the
# self-test, to build some; NM (default nm); LD, OBJCOPY.
set -euo pipefail

read -r -a cc <<<"${CC:-cc}"
nm=${NM:-nm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Global symbols a library defines: an archive's (T, D, B, R, ... but not
# U, w or v) or a shared library's dynamic ones, without version suffixes.
defined_globals() {
    case $1 in
        *.a) "$nm" -g --defined-only "$1" 2>/dev/null ;;
        *) "$nm" -D --defined-only "$1" ;;
    esac | awk 'NF >= 3 && $2 !~ /^[wvU]$/ { sub(/@.*/, "", $3); print $3 }' |
        sort -u
}

# Libraries that export a global k must fail, naming k and not hs_fine;
# linked the way the Makefile links the installed libraries (a version
# script; ld -r and objcopy), the same objects must pass.
exports_self_test() {
    local here rc out
    here=$(cd "$(dirname -- "$0")" && pwd)
    printf 'int k = 1;\nint hs_fine(void);\nint hs_fine(void) { return k; }\n' \
        >"$tmp/leak.c"
    "${cc[@]}" -fPIC -c -o "$tmp/leak.o" "$tmp/leak.c"
    ar rcs "$tmp/libleak.a" "$tmp/leak.o"
    "${cc[@]}" -shared -o "$tmp/libleak.so" "$tmp/leak.o"
    for lib in "$tmp/libleak.a" "$tmp/libleak.so"; do
        rc=0
        out=$(CC="${cc[*]}" bash "$0" --exports "$lib" 2>&1) || rc=$?
        if [ "$rc" -ne 1 ] || ! grep -q "exports k," <<<"$out" ||
            grep -q hs_fine <<<"$out"; then
            printf '%s\n' "$out"
            echo "check-symbols self-test: FAIL: $lib exporting k was not reported (exit $rc)" >&2
            exit 1
        fi
    done
    "${cc[@]}" -shared -Wl,--version-script="$here/libhopsim.map" \
        -o "$tmp/libok.so" "$tmp/leak.o"
    "${LD:-ld}" -r -o "$tmp/all.o" "$tmp/leak.o"
    "${OBJCOPY:-objcopy}" --wildcard --keep-global-symbol='hs_*' "$tmp/all.o" "$tmp/ok.o"
    ar rcs "$tmp/libok.a" "$tmp/ok.o"
    if ! out=$(CC="${cc[*]}" bash "$0" --exports "$tmp/libok.a" "$tmp/libok.so" 2>&1); then
        printf '%s\n' "$out"
        echo "check-symbols self-test: FAIL: libraries exporting hs_fine only were refused" >&2
        exit 1
    fi
}

# An archive defining sched_yield() must fail, naming it and nothing else.
if [ "${1:-}" = --self-test ]; then
    printf 'int sched_yield(void);\nint sched_yield(void) { return 0; }\n' \
        >"$tmp/clash.c"
    printf 'int hs_fine(void);\nint hs_fine(void) { return 0; }\n' >"$tmp/fine.c"
    "${cc[@]}" -c -o "$tmp/clash.o" "$tmp/clash.c"
    "${cc[@]}" -c -o "$tmp/fine.o" "$tmp/fine.c"
    ar rcs "$tmp/libclash.a" "$tmp/clash.o" "$tmp/fine.o"
    rc=0
    out=$(CC="${cc[*]}" bash "$0" "$tmp/libclash.a" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ] || ! grep -q 'defines sched_yield()' <<<"$out" ||
        grep -q hs_fine <<<"$out"; then
        printf '%s\n' "$out"
        echo "check-symbols self-test: FAIL: a clash with libc was not reported (exit $rc)" >&2
        exit 1
    fi
    exports_self_test
    echo "check-symbols self-test: ok (a library defining sched_yield() fails;" \
         "static and shared libraries exporting k fail)"
    exit 0
fi

if [ "${1:-}" = --exports ]; then
    shift
    bad=0
    for lib in "$@"; do
        defined_globals "$lib" >"$tmp/exported"
        n=$(grep -c . "$tmp/exported" || true)
        others=$(grep -v '^hs_' "$tmp/exported" || true)
        if [ -n "$others" ]; then
            while read -r sym; do
                echo "check-symbols: $lib exports $sym, which is not an hs_ name;" \
                     "it must stay inside the library"
            done <<<"$others"
            bad=1
        elif [ "$n" -eq 0 ]; then
            echo "check-symbols: $lib exports nothing: is it a library?"
            bad=1
        else
            echo "check-symbols: ok ($lib exports $n names, all hs_*)"
        fi
    done
    exit "$bad"
fi

lib=${1:?usage: $0 LIBHOPSIM.a | --self-test}

defined_globals "$lib" >"$tmp/ours"

: >"$tmp/theirs"
for so in libc.so.6 libunwind.so libcmocka.so; do
    path=$("${cc[@]}" -print-file-name="$so")
    # -print-file-name echoes the bare name when it finds nothing.
    if [ "$path" = "$so" ] || [ ! -e "$path" ]; then
        continue
    fi
    "$nm" -D --defined-only "$path" |
        awk -v so="$so" 'NF >= 3 { sub(/@.*/, "", $3); print $3 "\t" so }' >>"$tmp/theirs"
done
sort -u -o "$tmp/theirs" "$tmp/theirs"

clashes=$(awk -F '\t' 'NR == FNR { ours[$1] = 1; next } ($1 in ours) { print }' \
    "$tmp/ours" "$tmp/theirs")
if [ -n "$clashes" ]; then
    while IFS=$'\t' read -r sym so; do
        echo "check-symbols: $lib defines $sym(), which $so also defines;" \
             "rename it (kernel-internal names must not shadow system ones)"
    done <<<"$clashes"
    exit 1
fi
echo "check-symbols: ok ($(wc -l <"$tmp/ours") global symbols, none shadow libc, libunwind or libcmocka)"
