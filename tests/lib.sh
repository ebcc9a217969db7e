# tests/lib.sh — sourced by tests/sh/*.sh.  Runs the real binary; prints ok/FAIL/skip lines.
T="${TERMLOOM_BIN:?}"
TOOLS="${TERMLOOM_TOOLS:?}"
TMP=$(mktemp -d /tmp/termloom-sh.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
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
