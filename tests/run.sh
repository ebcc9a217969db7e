#!/bin/sh
# tests/run.sh BUILD [PATTERN...] — runs the unit tests (those matching a PATTERN, or all),
# then every tests/sh/*.sh script, and ends with one line "N passed, N failed[, N skipped]"
# that counts every test once.  Each test prints "ok NAME", "FAIL NAME: why" or
# "skip NAME: why" (skips only where a tool is absent outside CI; under CI=true they fail).
#
# What it will not let pass silently:
# - the unit binary dying (a signal, or an exit without its "unit: N passed, N failed" line):
#   it names each test before running it (--started), so the test it was running is counted
#   as failed and the run resumes after it (--after); a test it lists (--list) but that never
#   reports is a failure too;
# - a script reporting fewer tests than its line 2 declares ("# tests: N"): each missing
#   one counts as failed; more than declared, no declaration, or an exit status above 1 is
#   one failure;
# - a name reported twice (ok and FAIL, or two tests with one name): counted once, failed.
# TERMLOOM_UNIT (the unit binary) and TERMLOOM_SH_TESTS (a glob of scripts) point it
# elsewhere; tests/sh/runner.sh runs it on fakes that way.
BUILD=${1:-build}; [ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export TERMLOOM_BIN="${TERMLOOM_BIN:-$ROOT/termloom}"
case "$TERMLOOM_BIN" in /*) ;; *) TERMLOOM_BIN="$ROOT/$TERMLOOM_BIN" ;; esac
export TERMLOOM_TOOLS="$ROOT/$BUILD/tools"
export TERMLOOM_ROOT="$ROOT"
# Real server captures (llama.cpp) live in tests/fixtures/llamacpp, copied from the shared
# fixtures so that a clone tests on its own.
export TERMLOOM_FIXTURES="${TERMLOOM_FIXTURES:-$ROOT/tests/fixtures}"
# Tests never read the developer's own config, data or keys.
export XDG_CONFIG_HOME=/nonexistent-termloom-config XDG_DATA_HOME=/nonexistent-termloom-data
unset TERMLOOM_API_KEY OPENAI_API_KEY NO_COLOR
UNIT="${TERMLOOM_UNIT:-$ROOT/$BUILD/unit}"
SH_TESTS="${TERMLOOM_SH_TESTS:-tests/sh/*.sh}"
W=$(mktemp -d /tmp/termloom-run.XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM HUP
LOG="$W/log"        # every result line, for the closing count
: > "$LOG"
lost=0              # failures that have no result line of their own (tests never reported)
cd "$ROOT" || exit 1

# say LINE: shows a result line and keeps it.  show FILE: shows an output but its ok lines.
say() { echo "$1"; echo "$1" >> "$LOG"; }
show() { grep -v '^ok ' "$1"; cat "$1" >> "$LOG"; }
# how RC: how a process that returned RC ended.
how() {
    if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128))$(kill -l $(($1 - 128)) 2>/dev/null | sed 's/^/, SIG/')"
    else echo "exit status $1"; fi
}
# names FILE: the distinct test names of the result lines in FILE, one a line.
names() { awk '$1 == "ok" || $1 == "FAIL" || $1 == "skip" { n = $2; sub(/:$/, "", n); if (!(n in s)) { s[n]; print n } }' "$1"; }

# The unit tests.  Its temporary directories go under $W, so a crashed run leaves none.
if ! "$UNIT" --list "$@" > "$W/list" 2> "$W/list.err"; then
    say "FAIL unit_runner: $UNIT --list failed: $(head -c 300 "$W/list.err")"
else
    after=
    while :; do
        : > "$W/started"
        if [ -n "$after" ]; then
            TMPDIR="$W" "$UNIT" --started "$W/started" --after "$after" "$@" > "$W/unit" 2>&1
        else
            TMPDIR="$W" "$UNIT" --started "$W/started" "$@" > "$W/unit" 2>&1
        fi
        rc=$?
        show "$W/unit"
        summary=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$W/unit" | tail -n 1)
        if [ -n "$summary" ]; then
            case "$summary" in
                *", 0 failed") [ "$rc" = 0 ] ||
                    say "FAIL unit_runner: $(how "$rc") after its summary line (a sanitizer report at exit?)" ;;
            esac
            break
        fi
        crashed=$(tail -n 1 "$W/started")
        if [ -z "$crashed" ] || [ "$crashed" = "$after" ]; then
            say "FAIL unit_runner: $(how "$rc") before it ran a test${after:+ after $after}"
            break
        fi
        say "FAIL $crashed: the unit binary died ($(how "$rc")) while this test ran; resuming after it"
        after=$crashed
    done
    names "$LOG" > "$W/reported"
    awk 'NR == FNR { seen[$0]; next } !($0 in seen) { print "FAIL " $0 ": listed by the unit binary but never reported" }' \
        "$W/reported" "$W/list" > "$W/unreported"
    show "$W/unreported"
fi

# The sh tests.  Line 2 of each says how many tests it reports: "# tests: N".
for t in $SH_TESTS; do
    [ -e "$t" ] || continue
    sh "$t" > "$W/sh" 2>&1; rc=$?
    show "$W/sh"
    got=$(names "$W/sh" | wc -l | tr -d ' ')
    want=$(sed -n '2s/^# tests: \([0-9][0-9]*\) *$/\1/p' "$t")
    n=$(basename "$t")
    if [ -z "$want" ]; then
        echo "FAIL $n: line 2 does not declare '# tests: N' (it reported $got tests)"; lost=$((lost + 1))
    elif [ "$got" -lt "$want" ]; then
        echo "FAIL $n: $((want - got)) of its $want tests never reported: it stopped after $got ($(how "$rc"))"
        lost=$((lost + want - got))
    elif [ "$got" -gt "$want" ]; then
        echo "FAIL $n: reported $got tests, but its line 2 declares $want"; lost=$((lost + 1))
    elif [ "$rc" -gt 1 ]; then
        echo "FAIL $n: the script ended with $(how "$rc") (crash?)"; lost=$((lost + 1))
    fi
done

# Every name once: failed if any of its lines failed or it was reported more than once.
awk -v ci="${CI:-}" -v lost="$lost" '
$1 == "ok" || $1 == "FAIL" || $1 == "skip" {
    n = $2; sub(/:$/, "", n)
    if (!(n in times)) order[++k] = n
    times[n]++
    kinds[n] = kinds[n] (times[n] > 1 ? ", " : "") $1
    if ($1 == "FAIL") bad[n] = 1
    else if ($1 == "skip") skipped[n] = 1
}
END {
    p = f = s = 0
    for (i = 1; i <= k; i++) {
        n = order[i]
        if (times[n] > 1 && kinds[n] ~ /ok|skip/) {
            print "FAIL " n ": reported " times[n] " times (" kinds[n] ")"
            bad[n] = 1
        }
        if (bad[n]) f++; else if (skipped[n]) s++; else p++
    }
    f += lost
    if (s > 0 && ci == "true") { f += s; s = 0 }
    if (s > 0) print p " passed, " f " failed, " s " skipped"; else print p " passed, " f " failed"
    exit (f != 0)
}' "$LOG"
