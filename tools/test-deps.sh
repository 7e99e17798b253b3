#!/usr/bin/env bash
# tools/test-deps.sh - prove that tools/deps.sh does the right thing when a
# package is missing, on both of its paths:
#
#   1. not root: it prints the exact "sudo apt-get install -y PKG" line for
#      the missing package only, installs nothing, and fails;
#   2. root: it runs apt-get update, then a non-interactive
#      "apt-get install -y PKG", checks again and succeeds.  apt-get is a
#      fake here that records its arguments and "installs" the header.
#
# A fake missing header (HOPSIM_DEPS_EXTRA) stands for the package, so the
# test changes nothing on the machine.  It needs root, to become nobody.
set -euo pipefail

here=$(cd "$(dirname -- "$0")" && pwd)
cc=${CC:-cc}
fake_hdr=hopsim_selftest_missing.h
fake_pkg=hopsim-selftest-fake-pkg

if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: skipped (must run as root to drop to user nobody)"
    exit 0
fi

fail() {
    echo "test-deps: FAIL: $*" >&2
    echo "--- deps.sh output ---" >&2
    cat "$tmp/out" >&2
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# nobody must be able to read the script, wherever the repo lives.
cp "$here/deps.sh" "$tmp/deps.sh"
chmod 755 "$tmp" "$tmp/deps.sh"

# --- 1. not root -----------------------------------------------------------
rc=0
env CC="$cc" HOPSIM_DEPS_EXTRA="$fake_hdr:$fake_pkg" HOME="$tmp" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    bash "$tmp/deps.sh" "$tmp/stamp-nobody" >"$tmp/out" 2>&1 </dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "not root: exit code was 0, want non-zero"
grep -q 'apt-get install -y' "$tmp/out" || fail "not root: no 'apt-get install -y' line"
grep -q "$fake_pkg" "$tmp/out" || fail "not root: fake package not named"
# The real dependencies are installed by now, so the line names only the
# fake package: it must be exactly this.
grep -qx "sudo apt-get install -y $fake_pkg" "$tmp/out" ||
    fail "not root: want the line 'sudo apt-get install -y $fake_pkg'"
[ ! -e "$tmp/stamp-nobody" ] || fail "not root: stamp written despite failure"
echo "test-deps: ok: as nobody, deps.sh printed 'sudo apt-get install -y $fake_pkg' and exited $rc"

# --- 2. root, with a fake apt-get -----------------------------------------
mkdir -p "$tmp/bin" "$tmp/inc"
cat >"$tmp/bin/apt-get" <<EOF
#!/bin/sh
# Fake apt-get: log the call; "install" makes the fake header appear.
echo "apt-get \$* DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}" >>"$tmp/apt.log"
if [ "\$1" = install ]; then
    : >"$tmp/inc/$fake_hdr"
fi
EOF
chmod 755 "$tmp/bin/apt-get"
rc=0
env PATH="$tmp/bin:$PATH" CPATH="$tmp/inc" CC="$cc" \
    HOPSIM_DEPS_EXTRA="$fake_hdr:$fake_pkg" \
    bash "$tmp/deps.sh" "$tmp/stamp-root" >"$tmp/out" 2>&1 </dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "root: exit code $rc, want 0 after the (fake) install"
[ -e "$tmp/stamp-root" ] || fail "root: no stamp written"
printf '%s\n' \
    "apt-get update DEBIAN_FRONTEND=noninteractive" \
    "apt-get install -y $fake_pkg DEBIAN_FRONTEND=noninteractive" >"$tmp/want.log"
cmp -s "$tmp/want.log" "$tmp/apt.log" ||
    fail "root: apt-get calls were: $(cat "$tmp/apt.log" 2>/dev/null)"
echo "test-deps: ok: as root, deps.sh ran apt-get update + install -y $fake_pkg non-interactively"
