#!/bin/sh
# tests: 4
# Autosave is a journal (core/journal.h): the TUI is killed with SIGKILL at random moments
# while branches stream, again and again; each time the file loads (the journal replayed),
# every node that was there before the round is there with the same text, and the branches
# the screen showed had started are there too.  A clean quit folds the journal in; a
# headless reader sees journaled changes.
. tests/lib.sh
NAMES="journal_kill9_rounds journal_reopen_counts journal_quit_folds_in journal_headless_sees_changes"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
ROUNDS=${JOURNAL_ROUNDS:-20}
"$TOOLS/testserver" --lifetime 300 --idle 120 --drip 60 > "$TMP/port" 2>"$TMP/server.err" &
n=50; while [ "$n" -gt 0 ] && ! [ -s "$TMP/port" ]; do sleep 0.1; n=$((n - 1)); done
PORT=$(head -1 "$TMP/port")
F="$TMP/s.json"
ARGS="--backend openai --base-url http://127.0.0.1:$PORT/v1 --model m -n 3 --max-tokens 24"
tui_pid() {
    shell=$(tm display-message -p -t 0 '#{pane_pid}')
    ps -o pid= --ppid "$shell" | head -1 | tr -d ' '
}
nodes_of() { sed -n 's/^nodes //p' "$1"; }

round=0 bad="" badopen=""
"$TOOLS/session_info" "$F" --texts > "$TMP/before" 2>/dev/null || : > "$TMP/before"
while [ "$round" -lt "$ROUNDS" ] && [ -z "$bad" ]; do
    round=$((round + 1))
    rm -f "$TMP/exit"
    tui_start 100 30 $ARGS "$F"
    want=$(nodes_of "$TMP/before")
    want=${want:-1}
    if ! wait_for "Tree +$want nodes" 10; then
        badopen="round $round: reopened, expected $want nodes: $(why '')"
        break
    fi
    keys Enter
    if ! wait_for "Tree +$((want + 3)) nodes" 10; then
        bad="round $round: the branches did not start: $(why '')"
        break
    fi
    sleep "$(awk -v r="$round" 'BEGIN { srand(); printf "%.2f", rand() * 1.6 }')"
    pid=$(tui_pid)
    [ -n "$pid" ] && kill -9 "$pid"
    wait_exit 5
    if ! "$TOOLS/session_info" "$F" --texts > "$TMP/after" 2>"$TMP/err"; then
        bad="round $round: the file does not load: $(head -c 300 "$TMP/err")"
        break
    fi
    got=$(nodes_of "$TMP/after")
    if [ "$got" -lt "$((want + 3))" ]; then
        bad="round $round: $got nodes after the kill, the screen showed $((want + 3))"
        break
    fi
    # Every model node's text from before the round is still there, unchanged.
    grep '^text ' "$TMP/before" | sort > "$TMP/b.sorted"
    grep '^text ' "$TMP/after" | sort > "$TMP/a.sorted"
    lost=$(comm -23 "$TMP/b.sorted" "$TMP/a.sorted" | head -3)
    if [ -n "$lost" ]; then
        bad="round $round: lost or changed: $lost"
        break
    fi
    cp "$TMP/after" "$TMP/before"
done
if [ -z "$bad" ] && [ "$round" = "$ROUNDS" ] && [ -z "$badopen" ]; then
    ok tui_journal_kill9_rounds
else
    fail tui_journal_kill9_rounds "${bad:-$badopen}"
fi

# The TUI reopens what the last kill left, with the count the loader gives.
rm -f "$TMP/exit"
tui_start 100 30 $ARGS "$F"
want=$(nodes_of "$TMP/before")
if [ -z "$badopen" ] && wait_for "Tree +$want nodes" 10; then
    ok tui_journal_reopen_counts
else
    fail tui_journal_reopen_counts "${badopen:-$(why "expected $want nodes")}"
fi

# A bookmark, then q: the journal is folded into the file and removed.
keys b
keys q
if wait_exit 5 && [ ! -e "$F.journal" ] && "$TOOLS/session_info" "$F" > "$TMP/info" 2>&1 &&
   [ "$(nodes_of "$TMP/info")" = "$want" ] && grep -q '"bookmark"' "$F"; then
    ok tui_journal_quit_folds_in
else
    fail tui_journal_quit_folds_in "journal left: $(ls "$F.journal" 2>&1); $(tr '\n' ' ' < "$TMP/info")"
fi

# Killed after a child added by hand: the file itself does not have it, the journal does,
# and a headless reader (stats) sees it.
rm -f "$TMP/exit"
tui_start 100 30 $ARGS "$F"
wait_for "Tree +$want nodes" 10
keys a
keys -l 'by hand'
keys Enter
wait_for "Tree +$((want + 1)) nodes" 5
pid=$(tui_pid)
[ -n "$pid" ] && kill -9 "$pid"
wait_exit 5
in_file=$(grep -c '^{"id":' "$F")
if [ "$in_file" = "$want" ] && [ -s "$F.journal" ] && grep -q 'by hand' "$F.journal" &&
   "$T" stats "$F" > "$TMP/stats" 2>&1 && grep -Eq "^nodes +$((want + 1))\$" "$TMP/stats"; then
    ok tui_journal_headless_sees_changes
else
    fail tui_journal_headless_sees_changes "file has $in_file nodes (before: $want); stats: $(head -c 300 "$TMP/stats" | tr '\n' '|')"
fi
