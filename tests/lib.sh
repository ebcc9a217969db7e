# tests/lib.sh — sourced by tests/sh/*.sh.  Runs the real binary; prints ok/FAIL/skip lines.
# Line 2 of every script says how many tests it reports, "# tests: N" (skips count): tests/run.sh
# counts those that never report as failures.  One line per test name, whatever happens.
T="${TERMLOOM_BIN:?}"
TOOLS="${TERMLOOM_TOOLS:?}"
# The builtin models (and themes) are found in the source tree whatever the binary's folder
# (a sanitizer build lives in build-asan/).
export TERMLOOM_DATADIR="${TERMLOOM_DATADIR:-${TERMLOOM_ROOT:-.}}"
TMP=$(mktemp -d /tmp/termloom-sh.XXXXXX)
# reap PROGRAMS: every process still running from this test (its command line names $TMP)
# is killed, so nothing a test started outlives it — not even a sanitizer build stuck in
# its exit-time leak check after its terminal went away.
reap() { command -v pkill >/dev/null 2>&1 && pkill -9 -f -- "$TMP" 2>/dev/null; return 0; }
trap 'reap; rm -rf "$TMP"' EXIT
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "skip $1: $2"; }
# check NAME CONDITION-COMMAND... : ok when the command succeeds.
check() { n=$1; shift; if "$@"; then ok "$n"; else fail "$n" "$*"; fi; }
# expect_exit NAME CODE CMD... : runs CMD, stderr to $TMP/err, checks the exit status.
expect_exit() {
    n=$1; want=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"; got=$?
    if [ "$got" = "$want" ]; then ok "$n"; else fail "$n" "exit $got, expected $want: $(head -c 300 "$TMP/err")"; fi
}
# one_line_error NAME PATTERN : stderr is one line matching PATTERN (grep -E).
one_line_error() {
    if [ "$(wc -l < "$TMP/err")" = 1 ] && grep -Eq "$2" "$TMP/err"; then ok "$1"; else fail "$1" "stderr: $(head -c 300 "$TMP/err")"; fi
}
# summary_then_error NAME PATTERN : stderr (of gen, which grew something) is its summary
# line, then one error line matching PATTERN (grep -E).
summary_then_error() {
    if [ "$(wc -l < "$TMP/err")" = 2 ] &&
       head -1 "$TMP/err" | grep -Eq '^termloom gen: [0-9]+ nodes, [0-9]+ tokens in [^ ]+ \([0-9]+ tok/s\), [0-9]+ branch(es)? failed' &&
       tail -1 "$TMP/err" | grep -Eq -- "$2"; then
        ok "$1"
    else
        fail "$1" "stderr: $(head -c 400 "$TMP/err" | tr '\n' '|')"
    fi
}
# replay KEYS SCREENS [VAR=VALUE...] COMMAND...: the interactive program driven by the
# replay script KEYS (tui/replay.h), each "screen" step written into the folder SCREENS;
# a 100x30 UTF-8 terminal, no user config, stdout dropped, stderr in $TMP/err.
replay() {
    keys=$1 scr=$2; shift 2
    env TERMLOOM_KEYS="$keys" TERMLOOM_SCREENS="$scr" \
        TERMLOOM_DATADIR="${TERMLOOM_ROOT:-.}" XDG_CONFIG_HOME="$TMP/none" XDG_DATA_HOME="$TMP/none" \
        LINES=30 COLUMNS=100 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        "$@" < /dev/null > /dev/null 2> "$TMP/err"
}
