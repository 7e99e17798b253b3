#!/usr/bin/env bash
# tools/deps.sh - make sure the packages hopsim builds and tests with are here.
#
# usage: tools/deps.sh [STAMP]
#        tools/deps.sh --charts
#        tools/deps.sh --fuzz [STAMP]
#
# Checks each dependency the way the build will use it: a header by asking
# $CC to preprocess it, a tool by looking it up on PATH.  When something is
# missing and we are root (as in CI and on a fresh developer machine), it
# runs apt-get itself, non-interactively; otherwise it prints the exact
# apt-get line to run and fails.  On success it touches STAMP, if given, so
# that make runs this once per build directory.
#
# --charts checks (and installs the same way) only the optional tools of
# `make charts`: mscgen.  Nothing else needs them, so the build does not
# ask for them.  --fuzz checks what `make fuzz` needs: clang and its
# libFuzzer runtime (libclang-rt-N-dev, for clang N).
#
# Environment:
#   CC                  the compiler to check headers with (default: cc)
#   HOPSIM_DEPS_EXTRA   extra "header.h:package" pairs, space separated;
#                       used only by tools/test-deps.sh to fake a missing
#                       package.
set -euo pipefail

stamp=${1:-}
charts=0
fuzz=0
if [ "$stamp" = --charts ]; then
    charts=1
    stamp=
elif [ "$stamp" = --fuzz ]; then
    fuzz=1
    stamp=${2:-}
fi
# CC may carry words ("ccache gcc"): keep them apart.
read -r -a cc <<<"${CC:-cc}"
me=deps.sh

# header : Debian package.  cmocka.h needs the four headers before it, as
# every CMocka test includes them.
headers=(
    "cmocka.h:libcmocka-dev"
    "libunwind.h:libunwind-dev"
    "valgrind/valgrind.h:valgrind"
)
# command : Debian package.
commands=(
    "valgrind:valgrind"
    "pkg-config:pkg-config"
)
# The self-test's fake dependencies.  Word splitting is intended.
# shellcheck disable=SC2206
headers+=(${HOPSIM_DEPS_EXTRA:-})
# make charts: the chart renderer only; the compiler is not checked.
if [ "$charts" = 1 ]; then
    headers=()
    commands=("mscgen:mscgen")
fi
if [ "$fuzz" = 1 ]; then
    headers=()
    commands=("clang:clang")
fi

# Whether clang links a libFuzzer target; the runtime is a package of
# its own, named after clang's major version.
have_fuzzer() {
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);
int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }
' |
        clang -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1
}

# Which package provides a compiler named like $CC, for the message.
compiler_package() {
    case $(basename -- "$1") in
        clang*) echo clang ;;
        gcc*|cc|c99) echo gcc ;;
        *) echo "" ;;
    esac
}

have_header() {
    local prelude=""
    [ "$1" = cmocka.h ] &&
        prelude='#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n'
    # shellcheck disable=SC2059
    printf "$prelude#include <%s>\n" "$1" |
        "${cc[@]}" -E -x c - >/dev/null 2>&1
}

# Sets $missing to the packages whose compiler, command or header is absent.
find_missing() {
    missing=()
    local entry pkg
    for entry in "${commands[@]}"; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || add_missing "${entry#*:}"
    done
    [ "$charts" = 1 ] && return 0
    if [ "$fuzz" = 1 ]; then
        command -v clang >/dev/null 2>&1 && ! have_fuzzer &&
            add_missing "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
        return 0
    fi
    if ! command -v "${cc[0]}" >/dev/null 2>&1; then
        pkg=$(compiler_package "${cc[0]}")
        if [ -z "$pkg" ]; then
            echo "$me: error: compiler '${cc[0]}' not found, and I do not know" \
                 "which package provides it" >&2
            exit 1
        fi
        # Headers can only be checked with a working compiler.
        add_missing "$pkg"
        return 0
    fi
    for entry in "${headers[@]}"; do
        have_header "${entry%%:*}" || add_missing "${entry#*:}"
    done
}

add_missing() {
    local p
    for p in "${missing[@]}"; do
        [ "$p" = "$1" ] && return 0
    done
    missing+=("$1")
}

find_missing
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        {
            echo "$me: error: missing packages: ${missing[*]}"
            echo "$me: not root, so not installing them; run this, then make again:"
            echo "sudo apt-get install -y ${missing[*]}"
        } >&2
        exit 1
    fi
    echo "$me: missing packages: ${missing[*]}"
    echo "$me: running as root: apt-get update, then apt-get install -y ${missing[*]}"
    # No stdin in CI: never let apt or dpkg prompt.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null ||
        { echo "$me: error: apt-get update failed" >&2; exit 1; }
    apt-get install -y "${missing[@]}" </dev/null ||
        { echo "$me: error: apt-get install -y ${missing[*]} failed" >&2; exit 1; }
    find_missing
    if [ ${#missing[@]} -gt 0 ]; then
        echo "$me: error: still missing after apt-get install: ${missing[*]}" >&2
        exit 1
    fi
    echo "$me: installed; all dependencies present"
else
    echo "$me: all dependencies present"
fi

if [ -n "$stamp" ]; then
    mkdir -p "$(dirname -- "$stamp")"
    : >"$stamp"
fi
