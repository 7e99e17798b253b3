#!/usr/bin/env bash
# tools/bench-run.sh - run hopsim's benchmarks and report them as ratios.
#
# usage: tools/bench-run.sh BENCHDIR          (what `make bench` runs)
#
#   BENCHDIR    where the programs are: BENCHDIR/bench_<program>
#   BENCH       names to run, separated by spaces or commas (default all);
#               each brings along the other figures of its ratios, so a
#               ratio is always measured in one run with its baseline
#   BENCH_JSON  where to write the results (default bench.json)
#   BENCH_BUILD_FLAGS  how the programs were compiled, for the build line
#               (`make bench` sets it)
#
# Prints the machine line, the build line, one line per figure in the order of the table
# below (a figure whose feature does not exist yet prints
# "skip NAME (needs: ...)"), one "ratio" line per goal, and last
# "bench: N ratios, M meet their goal", counting only ratios whose figures
# were all measured.  Goals are reported, never asserted: the exit status
# is 1 only if a program failed or a name is unknown.
set -uo pipefail

dir=${1:?usage: $0 BENCHDIR}
json=${BENCH_JSON:-bench.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results.jsonl
: >"$results"

# name | program (- if not measurable yet) | what it needs
# A name ending in _instr is the instructions of one operation of the
# figure without the suffix, counted by callgrind (tools/bench-callgrind.sh,
# the third field its operations per pass): the same on any host, where
# times depend on the host's speed and its system calls.
FIGURES='
base_call|base|
base_switch|base|
base_swapcontext|base|
base_futex|base|
base_pipe|base|
base_memcpy_2m|base|
hop_roundtrip|hop|
call_roundtrip|ipc|
call_roundtrip_64w|ipc|
notify_roundtrip|notify|
async_send|chan|
ring_throughput|chan|
share_4k|mem|
share_2m|mem|
share_1g|mem|
move_2m|mem|
port_lookup|port|
spawn_exit|proc|
timers_10k|timers|
thread_create_exit|threads|
thread_create_exit_10k|threads|
threads_1m|threads|
base_switch_instr|base|20000
hop_roundtrip_instr|hop|20000
call_roundtrip_instr|ipc|20000
call_roundtrip_64w_instr|ipc|20000
notify_roundtrip_instr|notify|20000
async_send_instr|chan|20000
port_lookup_instr|port|20000
move_2m_instr|mem|2000
'

# name | numerator | denominator (empty: an absolute figure) | goal
#      | condition on a field of the numerator's record (or empty)
# A denominator written 1e9/NAME is NAME's rate: a figure in messages per
# second compared with one in ns per operation.
# A ratio with a figure that cannot be measured yet prints as skipped and
# is not counted.
RATIOS='
hop_roundtrip/base_switch|hop_roundtrip|base_switch|<= 1.6|
hop_roundtrip_instr|hop_roundtrip_instr||<= 300|
call_roundtrip/base_switch|call_roundtrip|base_switch|<= 2.5|
call_roundtrip_instr|call_roundtrip_instr||<= 400|
share_1g/share_4k|share_1g|share_4k|<= 2|
base_memcpy_2m/move_2m|base_memcpy_2m|move_2m|>= 100|
async_send/base_switch|async_send|base_switch|<= 2|
ring_throughput/base_switch_rate|ring_throughput|1e9/base_switch|>= 1|
port_lookup/base_switch|port_lookup|base_switch|<= 2.5|
thread_create_exit|thread_create_exit||<= 2000|
thread_create_exit_10k|thread_create_exit_10k||<= 2000|
threads_1m|threads_1m||<= 8|threads >= 1000000
'

# ---- which figures to run ---------------------------------------------------

declare -A known=() selected=()
while IFS='|' read -r name prog needs; do
    [ -n "$name" ] && known[$name]=1
done <<<"$FIGURES"

if [ -z "${BENCH:-}" ]; then
    for n in "${!known[@]}"; do selected[$n]=1; done
else
    for n in ${BENCH//,/ }; do
        if [ -z "${known[$n]:-}" ]; then
            echo "bench: no figure named '$n'; known:" \
                 $(awk -F'|' 'NF > 1 { print $1 }' <<<"$FIGURES") >&2
            exit 1
        fi
        selected[$n]=1
        # The other figures of every ratio this one is part of.
        while IFS='|' read -r rname num den goal cond; do
            den=${den#1e9/}
            if [ "$num" = "$n" ] || [ "$den" = "$n" ]; then
                selected[$num]=1
                [ -n "$den" ] && selected[$den]=1
            fi
        done <<<"$RATIOS"
    done
fi

# ---- the machine line -------------------------------------------------------

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(getconf _NPROCESSORS_ONLN)
kernel=$(uname -sr)
echo "machine: ${cpu:-unknown CPU}, $cores cores, $kernel"
build="${BENCH_BUILD_FLAGS:-unknown}"
build="$(echo $build)"      # one space between flags
echo "build: $build"

# ---- run --------------------------------------------------------------------

# Consecutive figures of one program run in one invocation of it.
failed=0
batch_prog=
batch_names=()
# The instructions of one operation of figure $2 of program $1, $3
# operations per pass, as a record like the timed figures' (median and p99
# alike: callgrind counts the same every time).
count_instr() {
    local name=${2}_instr line n
    if ! command -v valgrind >/dev/null; then
        printf '{"name": "%s", "error": "valgrind is not installed"}\n' \
            "$name" >>"$results"
        return
    fi
    line=$(bash "$(dirname "$0")/bench-callgrind.sh" "$dir/bench_$1" "$2" \
           "$3" 0 | head -1)
    n=$(sed -n 's/^.*: \([0-9]*\) instructions per operation$/\1/p' \
        <<<"$line")
    if [ -z "$n" ]; then
        printf '{"name": "%s", "error": "callgrind gave no count"}\n' \
            "$name" >>"$results"
        failed=1
        return
    fi
    printf '%-20s %8s instr/op\n' "$name" "$n"
    printf '{"name": "%s", "median": %s, "p99": %s, "unit": "instr/op"}\n' \
        "$name" "$n" "$n" >>"$results"
}

flush() {
    [ -n "$batch_prog" ] || return 0
    if ! BENCH_RESULTS=$results "$dir/bench_$batch_prog" "${batch_names[@]}"; then
        echo "bench: bench_$batch_prog failed" >&2
        failed=1
    fi
    batch_prog=
    batch_names=()
}

while IFS='|' read -r name prog needs; do
    [ -n "$name" ] && [ -n "${selected[$name]:-}" ] || continue
    if [ "$prog" = - ]; then
        flush
        echo "skip $name (needs: $needs)"
        printf '{"name": "%s", "skipped": true, "needs": "%s"}\n' \
            "$name" "$needs" >>"$tmp/skipped.jsonl"
        continue
    fi
    if [ "${name%_instr}" != "$name" ]; then
        flush
        count_instr "$prog" "${name%_instr}" "$needs"
        continue
    fi
    [ "$prog" = "$batch_prog" ] || flush
    batch_prog=$prog
    batch_names+=("$name")
done <<<"$FIGURES"
flush

# ---- ratios and bench.json --------------------------------------------------

touch "$tmp/skipped.jsonl"
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo true || echo false)

awk -v ratios="$RATIOS" -v figures="$FIGURES" -v json="$json" -v cpu="$cpu" -v cores="$cores" \
    -v kernel="$kernel" -v build="$build" -v rev="$git_rev" -v dirty="$git_dirty" \
    -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v skipped="$tmp/skipped.jsonl" '
function field(line, key,    m) {
    if (match(line, "\"" key "\": (\"[^\"]*\"|[^,}]*)")) {
        m = substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 4)
        gsub(/^"|"$/, "", m)
        return m
    }
    return ""
}
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function fmt(v) { return v < 10 ? sprintf("%.2f", v) : v < 100 ? sprintf("%.1f", v) : sprintf("%.0f", v) }
{
    name = field($0, "name")
    rec[name] = $0
    if (field($0, "error") == "") ok[name] = 1
    results = results (nres++ ? ",\n    " : "") $0
}
END {
    n = split(figures, fl, "\n")
    for (i = 1; i <= n; i++)
        if (split(fl[i], f, "|") >= 3 && f[2] == "-") needs[f[1]] = f[3]
    n = split(ratios, rl, "\n")
    total = met = 0
    for (i = 1; i <= n; i++) {
        if (split(rl[i], f, "|") < 4) continue
        rname = f[1]; num = f[2]; den = f[3]; goal = f[4]; cond = f[5]
        rate = sub(/^1e9\//, "", den)    # den is a rate: 1e9 / its ns
        split(goal, g, " ")
        if (num in needs || den in needs) {
            print "skip ratio " rname " (needs: " (num in needs ? needs[num] : needs[den]) ")"
            continue
        }
        if (!(num in ok) || (den != "" && !(den in ok))) {
            print "ratio " rname ": not measured in this run"
            continue
        }
        unit = den == "" ? " " field(rec[num], "unit") : ""
        value = field(rec[num], "median") + 0
        if (rate) value = value / (1e9 / field(rec[den], "median"))
        else if (den != "") value = value / field(rec[den], "median")
        good = g[1] == "<=" ? value <= g[2] + 0 : value >= g[2] + 0
        at = want = ""
        if (cond != "") {               # e.g. "threads >= 1000000"
            split(cond, c, " ")
            have = field(rec[num], c[1]) + 0
            if (!(c[2] == ">=" ? have >= c[3] + 0 : have <= c[3] + 0))
                good = 0
            at = " at " have " " c[1]
            want = " at " c[3] " " c[1]
        }
        total++
        met += good
        printf "ratio %s = %s%s%s (goal %s%s%s): %s\n", rname, fmt(value),
               unit, at, goal, unit, want, good ? "met" : "not met"
        rjson = rjson (total > 1 ? ",\n    " : "") \
            sprintf("{\"name\": %s, \"value\": %.6g, \"unit\": %s, \"goal\": %s, \"met\": %s}",
                    jstr(rname), value, jstr(den == "" ? substr(unit, 2) : "ratio"),
                    jstr(goal (cond != "" ? ", " cond : "")), good ? "true" : "false")
    }
    while ((getline s < skipped) > 0)
        sk = sk (nsk++ ? ",\n    " : "") s
    printf "{\n  \"machine\": {\"cpu\": %s, \"cores\": %d, \"kernel\": %s},\n", \
        jstr(cpu), cores, jstr(kernel) > json
    printf "  \"build\": %s,\n", jstr(build) > json
    printf "  \"commit\": %s, \"dirty\": %s, \"date\": %s,\n", jstr(rev), dirty, jstr(date) > json
    printf "  \"results\": [\n    %s\n  ],\n", results > json
    printf "  \"skipped\": [\n    %s\n  ],\n", sk > json
    printf "  \"ratios\": [\n    %s\n  ],\n", rjson > json
    printf "  \"summary\": {\"ratios\": %d, \"met\": %d}\n}\n", total, met > json
    close(json)
    print "bench: results written to " json
    printf "bench: %d ratios, %d meet their goal\n", total, met
}' "$results"

exit $failed
