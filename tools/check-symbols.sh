#!/usr/bin/env bash
# tools/check-symbols.sh - libhopsim must not define a global symbol that a
# library it links with also defines.
#
# usage: tools/check-symbols.sh LIBHOPSIM.a
#        tools/check-symbols.sh --self-test   prove the check can fail
#
# Programs link libhopsim.a statically, so any global function it defines
# takes the place of the system library's function of the same name for
# the whole process: a kernel function called sched_yield() would be run
# by glibc and the sanitizer runtimes whenever they mean the system call.
# The check compares libhopsim's defined globals with the dynamic symbols
# of libc, libunwind and libcmocka, and fails naming each clash.
# Environment: CC (default cc), to find the libraries; NM (default nm).
set -euo pipefail

read -r -a cc <<<"${CC:-cc}"
nm=${NM:-nm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An archive defining sched_yield() must fail, naming it and nothing else.
if [ "${1:-}" = --self-test ]; then
    printf 'int sched_yield(void);\nint sched_yield(void) { return 0; }\n' \
        >"$tmp/clash.c"
    printf 'int hs_fine(void);\nint hs_fine(void) { return 0; }\n' >"$tmp/fine.c"
    "${cc[@]}" -c -o "$tmp/clash.o" "$tmp/clash.c"
    "${cc[@]}" -c -o "$tmp/fine.o" "$tmp/fine.c"
    ar rcs "$tmp/libclash.a" "$tmp/clash.o" "$tmp/fine.o"
    rc=0
    out=$(CC="${cc[*]}" "$0" "$tmp/libclash.a" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ] || ! grep -q 'defines sched_yield()' <<<"$out" ||
        grep -q hs_fine <<<"$out"; then
        printf '%s\n' "$out"
        echo "check-symbols self-test: FAIL: a clash with libc was not reported (exit $rc)" >&2
        exit 1
    fi
    echo "check-symbols self-test: ok (a library defining sched_yield() fails)"
    exit 0
fi

lib=${1:?usage: $0 LIBHOPSIM.a | --self-test}

# Global symbols defined in the archive (T, D, B, R, ... but not U or w).
"$nm" -g --defined-only "$lib" 2>/dev/null |
    awk 'NF >= 3 && $2 !~ /^[wvU]$/ { print $3 }' | sort -u >"$tmp/ours"

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
