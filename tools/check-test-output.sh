#!/usr/bin/env bash
# tools/check-test-output.sh - the test runner's TAP and JUnit output are
# valid, and say what failed.
#
# usage: tools/check-test-output.sh TESTPROG...
#
# Runs tools/run-tests.sh on the given (passing) test programs plus a
# small CMocka program built here with one passing and one failing test,
# once with --format tap and once with --format junit, and checks:
#   tap    one plan, "1..N", and N test lines numbered 1..N in order; the
#          failing test is "not ok" and names its program; prove accepts
#          the stream (when prove is installed) and finds the failure;
#   junit  the XML parses (python3, when installed), has a testsuite per
#          program, and the failing test holds a <failure>.
# Environment: CC (default cc) to build the failing program.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 TESTPROG..." >&2; exit 2; }
here=$(cd "$(dirname -- "$0")/.." && pwd)
read -r -a cc <<<"${CC:-cc}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
me=check-test-output

cat >"$tmp/fails.c" <<'C'
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

static void test_passes(void **state) { (void)state; assert_int_equal(1, 1); }
static void test_fails_on_purpose(void **state) { (void)state; assert_int_equal(1, 2); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_fails_on_purpose),
    };
    return cmocka_run_group_tests_name("fails", tests, NULL, NULL);
}
C
mkdir -p "$tmp/bin"
"${cc[@]}" -o "$tmp/bin/test_fails" "$tmp/fails.c" -lcmocka

fail() { echo "$me: FAIL: $*" >&2; exit 1; }

# ---- TAP
rc=0
bash "$here/tools/run-tests.sh" --format tap --results "$tmp/r" "$@" \
    "$tmp/bin/test_fails" >"$tmp/out.tap" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "tap: a failing program did not fail the run"
plans=$(grep -cE '^1\.\.[0-9]+$' "$tmp/out.tap" || true)
[ "$plans" = 1 ] || fail "tap: $plans plans, want 1"
n=$(grep -E '^1\.\.[0-9]+$' "$tmp/out.tap" | cut -d. -f3)
awk -v n="$n" '
    /^(not )?ok [0-9]+/ { k++; split($0, w, " "); num = ($1 == "not") ? w[3] : w[2]
                          if (num != k) { print "line " NR ": test " num ", want " k; bad = 1 } }
    END { if (k != n) { print k " test lines, plan says " n; bad = 1 } exit bad }
' "$tmp/out.tap" >"$tmp/tap.err" || fail "tap: $(head -n 3 "$tmp/tap.err")"
grep -qE '^not ok [0-9]+ - test_fails: test_fails_on_purpose' "$tmp/out.tap" ||
    fail "tap: the failing test is not reported as 'not ok ... test_fails: test_fails_on_purpose'"
[ "$(grep -c '^not ok' "$tmp/out.tap")" = 1 ] ||
    fail "tap: passing tests reported as failed"
if command -v prove >/dev/null 2>&1; then
    if prove --exec cat "$tmp/out.tap" >"$tmp/prove.out" 2>&1; then
        fail "tap: prove did not see the failure"
    fi
    grep -q 'Parse errors' "$tmp/prove.out" && fail "tap: prove: $(grep 'Parse errors' "$tmp/prove.out")"
    grep -q "Failed 1/$n subtests" "$tmp/prove.out" ||
        fail "tap: prove: $(tail -n 3 "$tmp/prove.out")"
fi

# ---- JUnit
rc=0
bash "$here/tools/run-tests.sh" --format junit --results "$tmp/j" "$@" \
    "$tmp/bin/test_fails" >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "junit: a failing program did not fail the run"
[ -s "$tmp/j.xml" ] || fail "junit: no $tmp/j.xml written"
if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/j.xml" "$(($# + 1))" 2>"$tmp/py.err" <<'PY' || fail "junit: $(tail -n 1 "$tmp/py.err")"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = root.findall(".//testsuite")
want = int(sys.argv[2])
if len(suites) < want:
    sys.exit("%d testsuites, want %d" % (len(suites), want))
failed = [c.get("name") for c in root.iter("testcase")
          if c.find("failure") is not None or c.find("error") is not None]
if failed != ["test_fails_on_purpose"]:
    sys.exit("failed cases %r, want ['test_fails_on_purpose']" % failed)
PY
else
    grep -q '<failure' "$tmp/j.xml" || fail "junit: no <failure> element"
fi
echo "$me: ok (one TAP plan over $n tests with the failure named; JUnit XML with the failure)"
