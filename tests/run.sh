#!/bin/sh
# tests/run.sh BUILD — runs the unit tests, then every tests/sh/*.sh script, and ends with
# one line "N passed, N failed[, N skipped]".  Each test prints "ok NAME", "FAIL NAME: why"
# or "skip NAME: why" (skips only where a tool is absent outside CI; under CI=true they fail).
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
LOG=$(mktemp)
cd "$ROOT" || exit 1
# A runner that crashes part way must not look like a pass: its exit status counts too.
"$ROOT/$BUILD/unit" "$@" > "$LOG.unit" 2>&1; rc=$?
grep -v '^ok ' "$LOG.unit"; cat "$LOG.unit" >> "$LOG"; rm -f "$LOG.unit"
if [ "$rc" != 0 ] && ! grep -q '^FAIL ' "$LOG"; then
    echo "FAIL unit_runner: exited with status $rc before reporting a failure (crash?)" | tee -a "$LOG"
fi
for t in tests/sh/*.sh; do
    [ -e "$t" ] || continue
    sh "$t" > "$LOG.sh" 2>&1; rc=$?
    grep -v '^ok ' "$LOG.sh"; cat "$LOG.sh" >> "$LOG"; rm -f "$LOG.sh"
    if [ "$rc" -gt 1 ]; then
        echo "FAIL $(basename "$t"): the script exited with status $rc (crash?)" | tee -a "$LOG"
    fi
done
p=$(grep -c '^ok ' "$LOG"); f=$(grep -c '^FAIL ' "$LOG"); s=$(grep -c '^skip ' "$LOG")
rm -f "$LOG"
if [ "$s" -gt 0 ] && [ "${CI:-}" = true ]; then f=$((f + s)); s=0; fi
if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
[ "$f" = 0 ]
