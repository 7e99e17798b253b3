#!/usr/bin/env bash
# tools/run-tests.sh - run hopsim's test programs and count the results.
#
# usage: tools/run-tests.sh [--ucontext] [--also PROG]... [--format FORMAT]
#                           [--results BASE] TEST... [-- WRAPPER...]
#
#   TEST...      test programs, or folders whose test_* programs to run;
#                they run in sorted order (by file name)
#   WRAPPER...   command prefix for each program, e.g. valgrind and its flags
#   --ucontext   after the first pass, run everything again with
#                HOPSIM_SWITCH=ucontext (the portable context-switch path)
#   --also PROG  one more program to run (and count) after the tests in each
#                pass, e.g. the tour example
#   --format F   how to report (default: $HOPSIM_TEST_OUTPUT, else default):
#       default  one line per program and pass:
#                  ok   test_hop (30 tests, 0.4 s)
#                  FAIL test_hop [ucontext]: 1 of 30 tests failed: test_x
#                with the output of each failed test (or the end of the
#                program's output, if no test failed but the program did)
#                below a FAIL line; a passing program's output is not shown
#       tap      one TAP stream on stdout: a line per CMocka test, named
#                "<program>[ (ucontext)]: <test>", a line per other program,
#                and a line for a program that failed outside its tests
#                (crash, leak, timeout); diagnostics as "# " comments; the
#                plan comes last
#       junit    the default lines, and a JUnit XML file, BASE.xml: one
#                testsuite per program and pass, from CMocka's XML output
#   --results B  where tap and junit also write their results: B.tap (a
#                copy of the stream), B.xml; default: test-results
#
# The runner sets CMOCKA_MESSAGE_OUTPUT (and CMOCKA_XML_FILE) per program to
# read each test's result.  A failure does not stop the run.  Lines of the
# runner's own start with "# ".  In the default and junit formats the last
# line is exactly "N passed, N failed", counting programs x passes; in tap
# it is the plan, after "# N passed, N failed".  Exits 1 if anything
# failed.  HOPSIM_TEST_TIMEOUT (seconds, default 300) bounds each program,
# so a hung test fails instead of hanging CI.
set -uo pipefail

usage() {
    echo "usage: $0 [--ucontext] [--also PROG]... [--format default|tap|junit]" \
         "[--results BASE] TEST... [-- WRAPPER...]" >&2
    exit 2
}

ucontext=0
also=()
tests=()
wrapper=()
format=${HOPSIM_TEST_OUTPUT:-default}
results=test-results
while [ $# -gt 0 ]; do
    case $1 in
        --ucontext) ucontext=1; shift ;;
        --also) [ $# -ge 2 ] || usage; also+=("$2"); shift 2 ;;
        --format) [ $# -ge 2 ] || usage; format=$2; shift 2 ;;
        --results) [ $# -ge 2 ] || usage; results=$2; shift 2 ;;
        --) shift; wrapper=("$@"); break ;;
        -*) echo "run-tests: unknown option $1" >&2; usage ;;
        *) tests+=("$1"); shift ;;
    esac
done
case $format in
    ''|default) format=default ;;
    tap|junit) ;;
    *) echo "run-tests: unknown format '$format' (want default, tap or junit)" >&2
       exit 2 ;;
esac
case $format in
    junit) output=$results.xml ;;
    tap) output=$results.tap ;;
    *) output= ;;
esac
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
    if [ "$format" = tap ]; then
        echo "1..0 # no test programs to run"
    else
        echo "0 passed, 0 failed"
    fi
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
out=$work/out           # the program's stdout (default: and stderr)
err=$work/err           # its stderr
xml=$work/cmocka.xml    # CMocka's XML (junit)
suites=$work/suites     # every testsuite so far (junit)
tap=$work/tap           # the stream so far (tap)
: >"$suites"
: >"$tap"

# ---- helpers ---------------------------------------------------------------

# A line of the TAP stream: to stdout, and kept for BASE.tap.
tap_line() {
    printf '%s\n' "$*" | tee -a "$tap"
}

# The lines of file $1 (its last $2) as TAP comments.
tap_comment_tail() {
    tail -n "$2" -- "$1" | sed -e 's/^/# /' | tee -a "$tap"
}

# Text fit for XML CDATA: printable ASCII, tabs and newlines only, and no
# "]]>" inside.
cdata() {
    LC_ALL=C tr -cd '\11\12\40-\176' | sed -e 's/]]>/]]]]><![CDATA[>/g'
}

# An XML attribute value.
xattr() {
    printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' \
        -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

# Seconds since t0 (microseconds), as "0.4".
elapsed() {
    local us=$(( ${EPOCHREALTIME/./} - t0 ))
    printf '%d.%d' $(( us / 1000000 )) $(( us / 100000 % 10 ))
}

# A program that skipped itself says "# SKIP why" (tests/gdb/run.sh):
# " - SKIP why", or nothing.
skip_note() {
    local why
    why=$(sed -n -e 's/^# SKIP *//p' "$out" | head -n 1)
    [ -z "$why" ] || printf ' - SKIP %s' "$why"
}

# Why exit status $1 is a failure.
why_failed() {
    case $1 in
        124) echo "timed out after ${timeout_s}s" ;;
        99) echo "exit 99: valgrind reported errors" ;;
        129|1[3-9][0-9]|2[0-5][0-9]) echo "killed by signal $(( $1 - 128 ))" ;;
        *) echo "exit $1" ;;
    esac
}

# Run one program in the current pass; rc is its exit status.  Extra
# environment assignments come first.
run_prog() {
    local prog=$1
    shift
    rc=0
    if [ "$pass" = ucontext ]; then
        env "$@" HOPSIM_SWITCH=ucontext timeout --foreground -k 10 "$timeout_s" \
            "${wrapper[@]}" "$prog" || rc=$?
    else
        env -u HOPSIM_SWITCH "$@" timeout --foreground -k 10 "$timeout_s" \
            "${wrapper[@]}" "$prog" || rc=$?
    fi
}

# ---- default: CMocka's standard output, shown for failed tests only ------

# From CMocka's standard output on stdin: each failed test's lines, from
# its RUN marker to its FAILED one, and a test left running (a crash or a
# timeout); indented.
failed_blocks() {
    awk '
        /^\[ RUN      \] / { open = 1; n = 0 }
        open { block[++n] = $0 }
        /^\[       OK \] / || /^\[  SKIPPED \] / { open = 0 }
        /^\[  FAILED  \] / && open {
            for (i = 1; i <= n; i++) print "    " block[i]
            open = 0
        }
        END {
            if (open) {
                for (i = 1; i <= n; i++) print "    " block[i]
                print "    (the program ended in this test)"
            }
        }'
}

report_default() {
    local ntests nfailed failed_names why
    ntests=$(grep -c '^\[ RUN      \] ' "$out")
    if [ "$rc" -eq 0 ]; then
        if [ "$ntests" -gt 0 ]; then
            echo "ok   $label ($ntests tests, $secs s)"
        else
            echo "ok   $label ($secs s)$(skip_note)"
        fi
        return
    fi
    failed_names=$(sed -n -e 's/^\[  FAILED  \] \([^ ]*\)$/\1/p' "$out" |
                   sort -u | paste -sd, - | sed -e 's/,/, /g')
    nfailed=0
    [ -n "$failed_names" ] && nfailed=$(( $(tr -cd , <<<"$failed_names" | wc -c) + 1 ))
    why=$(why_failed "$rc")
    if [ "$nfailed" -gt 0 ]; then
        echo "FAIL $label: $nfailed of $ntests tests failed: $failed_names ($why)"
    else
        echo "FAIL $label: $why"
    fi
    local blocks
    blocks=$(failed_blocks <"$out")
    if [ -n "$blocks" ]; then
        printf '%s\n' "$blocks"
        # What a failing program printed after its tests (leaks, valgrind).
        if [ "$nfailed" -eq 0 ] || [ "$rc" -ne 1 ]; then
            sed -e '1,/^\[==========\] [0-9]* test(s) run\./d' "$out" |
                tail -n 40 | sed -e 's/^/    /'
        fi
    else
        tail -n 40 -- "$out" | sed -e 's/^/    /'
    fi
}

# ---- tap: CMocka's TAP, renumbered into one stream ------------------------

report_tap() {
    local name=$1 results failed_tests count
    # ok / not ok lines with their diagnostics, renamed and renumbered.
    results=$(awk -v n="$ntap" -v name="$name" -v countf="$work/count" '
        /^(not )?ok [0-9]+ # SKIP/ {    # CMocka says "not ok" for a skip
            desc = $0
            sub(/^(not )?ok [0-9]+ # SKIP */, "", desc)
            printf "ok %d - %s: %s # SKIP\n", ++n, name, desc
            diag = 0
            next
        }
        /^(not )?ok [0-9]+ - / {
            not = ($1 == "not")
            desc = $0
            sub(/^(not )?ok [0-9]+ - /, "", desc)
            printf "%sok %d - %s: %s\n", (not ? "not " : ""), ++n, name, desc
            diag = not
            next
        }
        /^(not )?ok [0-9]+( |$)/ {     # no description
            not = ($1 == "not")
            printf "%sok %d - %s\n", (not ? "not " : ""), ++n, name
            diag = not
            next
        }
        /^# (not )?ok - / { diag = 0; next }      # the group line
        /^#/ && diag { print; next }
        { diag = 0 }
        END { print n >countf }' "$out")
    count=$(cat -- "$work/count")
    [ -n "$results" ] && printf '%s\n' "$results" | tee -a "$tap"
    failed_tests=$(grep -c '^not ok ' <<<"$results")
    local nresults=$(( count - ntap ))
    ntap=$count
    if [ "$rc" -ne 0 ] && [ "$failed_tests" -eq 0 ]; then
        # Failed outside its tests, or is no CMocka program.
        ntap=$(( ntap + 1 ))
        local what=""
        [ "$nresults" -gt 0 ] && what=" after $nresults test(s)"
        tap_line "not ok $ntap - $name: $(why_failed "$rc")$what"
    elif [ "$nresults" -eq 0 ]; then
        ntap=$(( ntap + 1 ))
        local skip
        skip=$(skip_note)
        tap_line "ok $ntap - $name${skip:+ # SKIP ${skip# - SKIP }}"
    fi
    if [ "$rc" -ne 0 ]; then
        tap_line "# stderr of $name (last 30 lines):"
        tap_comment_tail "$err" 30
    fi
}

# ---- junit: CMocka's XML, merged ----------------------------------------

# Append to $suites one testsuite with a single testcase named $1 that
# passed ($2 empty) or ended in error $2, with the program's output.
junit_program_suite() {
    local name=$1 why=$2 a
    a=$(xattr "$name")
    if [ -z "$why" ]; then
        printf '  <testsuite name="%s" tests="1" failures="0" errors="0" skipped="0" time="%s">\n    <testcase classname="%s" name="%s" time="%s"/>\n  </testsuite>\n' \
            "$a" "$secs" "$a" "$a" "$secs" >>"$suites"
        return
    fi
    {
        printf '  <testsuite name="%s" tests="1" failures="0" errors="1" skipped="0" time="%s">\n' "$a" "$secs"
        printf '    <testcase classname="%s" name="%s" time="%s">\n' "$a" "$a" "$secs"
        printf '      <error message="%s"><![CDATA[' "$(xattr "$why")"
        { tail -n 40 -- "$err"; tail -n 20 -- "$out"; } | cdata
        printf ']]></error>\n    </testcase>\n  </testsuite>\n'
    } >>"$suites"
}

report_junit() {
    local name=$1 ntests=0 nfail=0 a
    a=$(xattr "$name")
    if [ -s "$xml" ] && grep -q '</testsuites>' "$xml"; then
        ntests=$(sed -n -e 's/.*<testsuite .*tests="\([0-9]*\)".*/\1/p' "$xml" |
                 awk '{ s += $1 } END { print s + 0 }')
        nfail=$(sed -n -e 's/.*<testsuite .* failures="\([0-9]*\)" errors="\([0-9]*\)".*/\1 \2/p' "$xml" |
                awk '{ s += $1 + $2 } END { print s + 0 }')
        # Each suite named after the program (and pass); each case
        # classed by it.
        sed -n -e '/<testsuite /,/<\/testsuite>/p' "$xml" |
            sed -e "s|<testsuite name=\"[^\"]*\"|<testsuite name=\"$a\"|" \
                -e "s|<testcase name=|<testcase classname=\"$a\" name=|" \
            >>"$suites"
    fi
    if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
        junit_program_suite "$name" "$(why_failed "$rc")"
    elif [ "$ntests" -eq 0 ]; then
        junit_program_suite "$name" ""
    fi
    # The console line, as in the default format.
    if [ "$rc" -eq 0 ]; then
        if [ "$ntests" -gt 0 ]; then
            echo "ok   $label ($ntests tests, $secs s)"
        else
            echo "ok   $label ($secs s)"
        fi
    elif [ "$nfail" -gt 0 ]; then
        echo "FAIL $label: $nfail of $ntests tests failed:" \
             "$(junit_failed_names) ($(why_failed "$rc"))"
        junit_failed_details
    else
        echo "FAIL $label: $(why_failed "$rc")"
        tail -n 40 -- "$err" | sed -e 's/^/    /'
    fi
}

# The names of the failed cases in CMocka's XML, comma separated.
junit_failed_names() {
    awk '
        /<testcase / { match($0, /name="[^"]*"/)
                       name = substr($0, RSTART + 6, RLENGTH - 7) }
        /<(failure|error)/ { names = names (names ? ", " : "") name }
        END { print names }' "$xml"
}

# Each failed case of CMocka's XML with its message, indented.
junit_failed_details() {
    awk '
        /<testcase / { match($0, /name="[^"]*"/)
                       name = substr($0, RSTART + 6, RLENGTH - 7) }
        /<(failure|error)/ { print "    " name ":"; text = 1 }
        text { line = $0
               sub(/.*<!\[CDATA\[/, "", line)
               sub(/\]\]>.*/, "", line)
               print "      " line }
        /\]\]>/ { text = 0 }' "$xml"
}

junit_write() {
    local totals
    totals=$(sed -n -e 's/^  <testsuite .* tests="\([0-9]*\)" failures="\([0-9]*\)" errors="\([0-9]*\)".*/\1 \2 \3/p' "$suites" |
             awk '{ t += $1; f += $2; e += $3 } END { printf "%d %d %d", t, f, e }')
    read -r t f e <<<"$totals"
    mkdir -p -- "$(dirname -- "$output")"
    {
        echo '<?xml version="1.0" encoding="UTF-8"?>'
        echo "<testsuites name=\"hopsim\" tests=\"$t\" failures=\"$f\" errors=\"$e\">"
        cat -- "$suites"
        echo '</testsuites>'
    } >"$output"
}

# ---- the passes --------------------------------------------------------------

passes=(default)
[ "$ucontext" -eq 1 ] && passes+=(ucontext)

passed=0
failed=0
failures=()
npass=${#passes[@]}
ntap=0
i=0
for pass in "${passes[@]}"; do
    i=$((i + 1))
    case $pass in
        default) what="default context switch (HOPSIM_SWITCH unset: fast path)" ;;
        ucontext) what="portable context switch (HOPSIM_SWITCH=ucontext)" ;;
    esac
    line="# pass $i/$npass: $what"
    if [ "$format" = tap ]; then tap_line "$line"; else echo "$line"; fi
    for prog in "${progs[@]}"; do
        # A test program by its own name; another (--also) with its folder:
        # examples/tour, gdb/run.sh.
        name=$(basename -- "$prog")
        case $name in
            test_*) ;;
            *) name=$(basename -- "$(dirname -- "$prog")")/$name ;;
        esac
        label=$name
        [ "$pass" = default ] || label="$name [$pass]"
        t0=${EPOCHREALTIME/./}
        case $format in
            default)
                run_prog "$prog" CMOCKA_MESSAGE_OUTPUT=STDOUT >"$out" 2>&1 ;;
            tap)
                run_prog "$prog" CMOCKA_MESSAGE_OUTPUT=TAP >"$out" 2>"$err" ;;
            junit)
                rm -f -- "$xml"
                run_prog "$prog" CMOCKA_MESSAGE_OUTPUT=XML \
                    CMOCKA_XML_FILE="$xml" >"$out" 2>"$err" ;;
        esac
        secs=$(elapsed)
        case $format in
            default) report_default ;;
            tap) if [ "$pass" = default ]; then report_tap "$name"
                 else report_tap "$name ($pass)"; fi ;;
            junit) if [ "$pass" = default ]; then report_junit "$name"
                   else report_junit "$name ($pass)"; fi ;;
        esac
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            failures+=("$label: $(why_failed "$rc")")
        fi
    done
done

if [ "$format" = junit ]; then
    junit_write
    echo "# JUnit XML: $output"
fi
summary() {
    echo "# ${#progs[@]} programs x $npass pass(es)"
    for f in "${failures[@]}"; do
        echo "# failed: $f"
    done
}
if [ "$format" = tap ]; then
    summary | tee -a "$tap"
    tap_line "# $passed passed, $failed failed"
    tap_line "1..$ntap"
    mkdir -p -- "$(dirname -- "$output")" && cp -- "$tap" "$output"
else
    summary
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
