#!/bin/sh
# tests: 6
# Failed branches in the TUI: the status line sums them up, L lists each one (its parent,
# branch, node) with the server's reason, the stats panel of a failed node says why, and
# the reason is saved with the node.  A comparison lists its missing samples, which and
# why, in its column and in the log.
. tests/lib.sh
NAMES="failed_summary failed_log failed_stats_error failed_error_saved compare_failed_listed compare_failed_logged"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
"$TOOLS/testserver" --lifetime 240 --idle 200 --fault midstream:0 > "$TMP/port" 2>"$TMP/server.err" &
n=50; while [ "$n" -gt 0 ] && ! [ -s "$TMP/port" ]; do sleep 0.1; n=$((n - 1)); done
PORT=$(head -1 "$TMP/port")
S="$TMP/f.json"
tui_start 200 34 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m -n 2 "$S"
wait_for 'Tree +1 nodes' 10
keys Enter
if wait_for '\(2 of 2 branches under #0 failed; L lists' 15; then
    ok tui_failed_summary
else
    fail tui_failed_summary "$(why 'no failure summary on the status line')"
fi
keys L
if wait_for 'messages 1-' 5 && wait_for 'under #0, branch 1 of 2 \(node #[0-9]+\) failed: ' 3 &&
   wait_for 'under #0, branch 2 of 2 \(node #[0-9]+\) failed: ' 3; then
    ok tui_failed_log
else
    fail tui_failed_log "$(why 'L does not list both failed branches')"
fi
keys q
wait_gone 'messages 1-' 3
keys l
if wait_for 'finish +error' 5 && wait_for 'error +[^ ]' 3; then
    ok tui_failed_stats_error
else
    fail tui_failed_stats_error "$(why 'the stats panel does not say why the node failed')"
fi
keys q
wait_exit 10
if [ "$(grep -c '"error":"' "$S" 2>/dev/null)" = 2 ]; then
    ok tui_failed_error_saved
else
    fail tui_failed_error_saved "the saved nodes hold $(grep -c '"error":"' "$S" 2>/dev/null) errors, expected 2"
fi

# A comparison whose side B fails every time (500, retried): the column says which samples
# are missing and why, the log has them too.
rm -f "$TMP/exit"
tui_start 120 40 --backend ngram -n 2 "$TMP/c.json"
wait_for 'Tree +1 nodes' 10
keys c
wait_for 'compare  A \| B \| N:' 5
keys C-a C-k
B="http://127.0.0.1:$PORT/v1"
tm send-keys -t 0 -l "backend=openai,base_url=$B,model=m | backend=openai,base_url=$B,model=m;fault=500:0,name=bad | 3"
keys Enter
if wait_for 'failed twice \(missing\)' 40 && wait_for 'failed: samples 1, 2, 3: 500: server error' 3; then
    ok tui_compare_failed_listed
else
    fail tui_compare_failed_listed "$(why 'the compare column does not list the failed samples')"
fi
keys Escape
keys L
if wait_for 'compare B \(bad\) under #0: failed: samples 1, 2, 3: 500' 5; then
    ok tui_compare_failed_logged
else
    fail tui_compare_failed_logged "$(why 'the log does not list the failed samples')"
fi
