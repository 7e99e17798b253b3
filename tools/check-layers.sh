#!/usr/bin/env bash
# tools/check-layers.sh - the folders include downwards only, and the
# kernel includes no host header.
#
# usage: tools/check-layers.sh [ROOT]      check the tree at ROOT (default .)
#        tools/check-layers.sh --self-test  prove the check can fail
#
# Two rules, every offence printed as FILE:LINE: and the script exits 1:
#
# 1. Direction.  The folders, bottom up:
#      sim  kern  core  notify  mem  ports  observe  run  lib
#    (the platform; the base; the objects, each folder on the ones before
#    it; the observing code; the run and the object table; the runtime on
#    the public API).  A file may include headers of its own folder and of
#    the folders before it, never after, so the folders form no circle.
#    The public headers (include/) may be included from anywhere, and of
#    sim/ the kernel folders (kern to run) may include sim/platform.h only.
# 2. Host headers.  kern/ core/ notify/ mem/ ports/ observe/ run/ are the
#    kernel: only sim/ may know it runs on Linux (DESIGN.md, "Layers and
#    folders").  A kernel file fails if it includes one of the host headers
#    below, directly or through a quoted include of a file outside the
#    kernel (say, a sim/ header that includes <ucontext.h>).
set -euo pipefail

kernel_dirs=(kern core notify mem ports observe run)
layers=(sim kern core notify mem ports observe run lib)
# Extended regex matched against the name inside <...> or "...".
forbidden='pthread\.h|ucontext\.h|libunwind[^/]*\.h|valgrind/.*|signal\.h|sys/.*|stdio\.h|stdlib\.h'

self_test() {
    local tmp out rc=0
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/core" "$tmp/mem" "$tmp/sim" "$tmp/include/hopsim"
    printf '#include <stdint.h>\n#include "sim/platform.h"\n#include "hopsim/status.h"\n' >"$tmp/core/ok.c"
    printf '#include <stddef.h>\n' >"$tmp/sim/platform.h"
    printf '#include <ucontext.h>\n' >"$tmp/sim/internal.h"
    printf '#include <pthread.h>\n#include <stdio.h>\n' >"$tmp/sim/host.c"
    # A clean tree passes (sim/ may include anything).
    "$0" "$tmp" >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; echo "check-layers self-test: FAIL: clean tree rejected" >&2; return 1; }
    # Direct and indirect offences are named with file and line.
    printf '/* x */\n#  include <sys/mman.h>\n' >"$tmp/mem/bad.c"
    printf '#include <stdint.h>\n#include "sim/internal.h"\n' >"$tmp/core/leak.h"
    # So are includes upwards, and of sim/ beyond its platform header.
    mkdir -p "$tmp/kern" "$tmp/ports"
    printf '#include <stdint.h>\n' >"$tmp/ports/port.h"
    printf '#include "kern/ok.h"\n' >"$tmp/core/down.c"
    printf '#include <stdint.h>\n' >"$tmp/kern/ok.h"
    printf '\n\n#include "ports/port.h"\n' >"$tmp/core/up.c"
    printf '#include "core/leak.h"\n' >"$tmp/kern/up.h"
    "$0" "$tmp" >"$tmp/out" 2>&1 || rc=$?
    out=$(cat "$tmp/out")
    if [ "$rc" -ne 1 ] ||
        ! grep -q '^mem/bad.c:2: .*<sys/mman.h>' <<<"$out" ||
        ! grep -q '^core/leak.h:2: .*<ucontext.h>' <<<"$out" ||
        ! grep -q '^core/up.c:3: .*"ports/port.h".*above core' <<<"$out" ||
        ! grep -q '^kern/up.h:1: .*"core/leak.h".*above kern' <<<"$out" ||
        ! grep -q '^core/leak.h:2: .*"sim/internal.h".*only sim/platform.h' <<<"$out" ||
        grep -q 'core/ok.c\|core/down.c' <<<"$out"; then
        printf '%s\n' "$out"
        echo "check-layers self-test: FAIL: offending tree not reported as expected (exit $rc)" >&2
        return 1
    fi
    echo "check-layers self-test: ok (host headers, includes upwards and of sim/ internals each fail, naming file and line)"
}

if [ "${1:-}" = --self-test ]; then
    self_test
    exit
fi

root=${1:-.}
cd "$root"

# Resolve a quoted include the way the build does: the including file's own
# folder first, then -Iinclude, then -I. (the repo root).
resolve() {
    local from=$1 name=$2 d
    for d in "$(dirname -- "$from")" include .; do
        if [ -f "$d/$name" ]; then
            realpath -m --relative-to=. -- "$d/$name"
            return 0
        fi
    done
    return 1
}

is_kernel_file() {
    local d
    for d in "${kernel_dirs[@]}"; do
        case $1 in "$d"/*) return 0 ;; esac
    done
    return 1
}

# Print "LINE<TAB>DELIM<TAB>NAME" for each #include in a file.
includes_of() {
    awk '
        match($0, /^[ \t]*#[ \t]*include[ \t]*[<"][^>"]+[>"]/) {
            s = substr($0, RSTART, RLENGTH)
            sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
            print FNR "\t" substr(s, 1, 1) "\t" substr(s, 2, length(s) - 2)
        }' "$1"
}

# First forbidden include reachable from a non-kernel header through quoted
# includes, as "<name> (file:line)"; nothing if there is none.
leak_through() {
    local file=$1 line delim name next found
    case " $seen " in *" $file "*) return 0 ;; esac
    seen="$seen $file"
    while IFS=$'\t' read -r line delim name; do
        if [ "$delim" = '<' ] && [[ $name =~ ^($forbidden)$ ]]; then
            echo "<$name> ($file:$line)"
            return 0
        fi
        if [ "$delim" = '"' ] && next=$(resolve "$file" "$name") &&
            ! is_kernel_file "$next"; then
            found=$(leak_through "$next")
            if [ -n "$found" ]; then
                echo "$found"
                return 0
            fi
        fi
    done < <(includes_of "$file")
}

# The position of folder $1 in layers, or nothing if it is not a layer.
rank_of() {
    local i
    for i in "${!layers[@]}"; do
        [ "${layers[$i]}" = "$1" ] && { echo "$i"; return 0; }
    done
    return 0
}

# Rule 1: every quoted include of a layer file names its own layer or one
# below; kernel files take only sim/platform.h from sim/.
bad=0
nlayered=0
for d in "${layers[@]}"; do
    [ -d "$d" ] || continue
    mine=$(rank_of "$d")
    while IFS= read -r -d '' f; do
        f=${f#./}
        nlayered=$((nlayered + 1))
        while IFS=$'\t' read -r line delim name; do
            [ "$delim" = '"' ] || continue
            top=${name%%/*}
            [ "$top" != "$name" ] || continue
            theirs=$(rank_of "$top")
            [ -n "$theirs" ] || continue
            if [ "$theirs" -gt "$mine" ]; then
                echo "$f:$line: includes \"$name\": $top is above $d"
                bad=1
            elif [ "$top" = sim ] && [ "$d" != sim ] && [ "$d" != lib ] &&
                [ "$name" != sim/platform.h ]; then
                echo "$f:$line: includes \"$name\": the kernel takes only sim/platform.h from sim/"
                bad=1
            fi
        done < <(includes_of "$f")
    done < <(find "$d" -type f \( -name '*.[chSs]' -o -name '*.inc' \) -print0 | sort -z)
done

# Rule 2: no host header in the kernel.
files=()
for d in "${kernel_dirs[@]}"; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do
        files+=("${f#./}")
    done < <(find "$d" -type f \( -name '*.[chSs]' -o -name '*.inc' \) -print0 | sort -z)
done

for f in "${files[@]}"; do
    while IFS=$'\t' read -r line delim name; do
        if [[ $name =~ ^($forbidden)$ ]]; then
            close='"'
            [ "$delim" = '<' ] && close='>'
            echo "$f:$line: includes host header $delim$name$close"
            bad=1
        elif [ "$delim" = '"' ] && next=$(resolve "$f" "$name") &&
            ! is_kernel_file "$next"; then
            seen=""
            leak=$(leak_through "$next")
            if [ -n "$leak" ]; then
                echo "$f:$line: includes \"$name\", which pulls in host header $leak"
                bad=1
            fi
        fi
    done < <(includes_of "$f")
done

if [ "$bad" -ne 0 ]; then
    echo "check-layers: FAIL: folders include downwards only" \
         "(${layers[*]}), and the kernel uses no host header:" \
         "host code goes behind sim/platform.h" >&2
    exit 1
fi
echo "check-layers: ok (${nlayered} files include downwards only:" \
     "${layers[*]}; ${#files[@]} kernel files, no host headers)"
