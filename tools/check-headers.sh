#!/usr/bin/env bash
# tools/check-headers.sh - every public header compiles on its own, as C99,
# C11 and C++17, without a warning; the headers' version is the Makefile's.
#
# usage: tools/check-headers.sh [--version X.Y.Z] [INCLUDE_DIR]
#        tools/check-headers.sh --self-test   prove the check can fail
#
# A program includes one hopsim header, in the language its authors chose:
# each of INCLUDE_DIR/hopsim.h and INCLUDE_DIR/hopsim/*.h (default:
# include) is compiled alone with -Wall -Wextra -Wpedantic -Werror by gcc
# (-std=c99, -std=c11) and g++ (-std=c++17).  When clang and clang++ are
# installed, they compile hopsim.h, which includes every header, in the
# same three modes (each clang run costs a tenth of a second; a header
# that needs an include it lacks fails with gcc already).  With --version, HS_VERSION_MAJOR, _MINOR,
# _PATCH and HS_VERSION (hopsim/api.h) must spell X.Y.Z.  Each failure is
# named; the exit status is 1 if any.  Environment: HEADER_JOBS (compiler
# runs at once, default 2).
set -euo pipefail

here=$(cd "$(dirname -- "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A header that only C11 accepts, and a version that differs, must each
# fail, naming the header and the version; a clean header must pass.
if [ "${1:-}" = --self-test ]; then
    mkdir -p "$tmp/inc/hopsim"
    cp "$here/../include/hopsim/api.h" "$tmp/inc/hopsim/"
    printf '#include "hopsim/api.h"\n' >"$tmp/inc/hopsim.h"
    printf '#ifndef BAD_H\n#define BAD_H\n_Noreturn void hs_bad(void);\n#endif\n' \
        >"$tmp/inc/hopsim/bad.h"
    rc=0
    out=$(bash "$0" --version 9.9.9 "$tmp/inc" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ] || ! grep -q 'hopsim/bad.h: g++ -std=c++17' <<<"$out" ||
        ! grep -q 'hopsim/bad.h: gcc -std=c99' <<<"$out" ||
        grep -q 'hopsim/api.h: ' <<<"$out" ||
        ! grep -q 'the Makefile 9.9.9' <<<"$out"; then
        printf '%s\n' "$out"
        echo "check-headers self-test: FAIL: a C11-only header or a wrong version was not reported (exit $rc)" >&2
        exit 1
    fi
    rm "$tmp/inc/hopsim/bad.h"
    version=$(sed -n 's/^#define HS_VERSION "\(.*\)"$/\1/p' "$tmp/inc/hopsim/api.h")
    if ! out=$(bash "$0" --version "$version" "$tmp/inc" 2>&1); then
        printf '%s\n' "$out"
        echo "check-headers self-test: FAIL: clean headers were refused" >&2
        exit 1
    fi
    echo "check-headers self-test: ok (a C11-only header and a wrong version fail)"
    exit 0
fi

want=""
if [ "${1:-}" = --version ]; then
    want=${2:?--version needs X.Y.Z}
    shift 2
fi
inc=${1:-include}

# compiler, language, standard, headers (each, or hopsim.h only): one
# mode per line.
modes="gcc c c99 each
gcc c c11 each
g++ c++ c++17 each"
if command -v clang >/dev/null && command -v clang++ >/dev/null; then
    modes+="
clang c c99 one
clang c c11 one
clang++ c++ c++17 one"
fi

headers=$(cd "$inc" && ls hopsim.h hopsim/*.h)
# One source file per header (hopsim/x.h -> hopsim__x.h.c), with a
# declaration of its own: a C file must declare something.
mkdir -p "$tmp/src"
for h in $headers; do
    f=$tmp/src/${h//\//__}.c
    printf '#include "%s"\ntypedef int hs_header_check_unit;\n' "$h" >"$f"
done

# One compiler run per mode, every header a file of its own (a header
# never sees what another included); when a run fails, each header is
# compiled again alone to name the ones that fail.
compile() {
    "$1" -x "$2" -std="$3" -I"$inc" -Wall -Wextra -Wpedantic -Werror \
        -fsyntax-only "${@:4}"
}
check_mode() {
    local cc=$1 lang=$2 std=$3 which=$4 h out hs=$headers
    if [ "$which" = one ]; then
        hs=hopsim.h
    fi
    compile "$cc" "$lang" "$std" $(for h in $hs; do
        printf '%s\n' "$tmp/src/${h//\//__}.c"; done) >/dev/null 2>&1 && return 0
    for h in $hs; do
        if ! out=$(compile "$cc" "$lang" "$std" "$tmp/src/${h//\//__}.c" 2>&1); then
            echo "check-headers: $h: $cc -std=$std fails:"
            printf '%s\n' "$out" | head -n 6
        fi
    done
}
i=0
while read -r cc lang std which; do
    check_mode "$cc" "$lang" "$std" "$which" >"$tmp/fail.$i" &
    i=$((i + 1))
    if [ $((i % ${HEADER_JOBS:-2})) -eq 0 ]; then
        wait
    fi
done <<<"$modes"
wait
cat "$tmp"/fail.* >"$tmp/fail"

if [ -n "$want" ]; then
    got=$(printf '#include "hopsim/api.h"\nHS_VERSION_MAJOR.HS_VERSION_MINOR.HS_VERSION_PATCH HS_VERSION\n' |
        gcc -E -P -I"$inc" -x c - | tr -d ' ' | grep . | tail -n 1)
    if [ "$got" != "$want\"$want\"" ]; then
        echo "check-headers: $inc/hopsim/api.h says version ${got%%\"*}" \
             "(HS_VERSION_*) and $(tr -d '"' <<<"${got#*[0-9]\"}") (HS_VERSION)," \
             "the Makefile $want" >>"$tmp/fail"
    fi
fi

if [ -s "$tmp/fail" ]; then
    cat "$tmp/fail"
    exit 1
fi
echo "check-headers: ok ($(echo $headers | wc -w) headers, each alone:" \
     "$(awk '{ printf "%s%s -std=%s%s", (NR > 1 ? ", " : ""), $1, $3, \
               ($4 == "one" ? " (hopsim.h)" : "") }' <<<"$modes")${want:+; version $want})"
