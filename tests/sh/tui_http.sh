#!/bin/sh
# tests: 5
# The TUI against the local test server: a 401 shows in the status line and the UI stays
# usable; a slow stream keeps the keyboard live, Esc cancels (partial branches kept), and a
# kill -9 while streaming loses at most the streaming branches.
. tests/lib.sh
NAMES="http_401_status http_401_usable stream_keys_live stream_esc_cancel kill9_keeps_tree"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
NSERV=0
serve() {   # serve ARGS... : starts a test server (it stops by itself), sets $PORT
    NSERV=$((NSERV + 1))
    pf="$TMP/port.$NSERV"
    "$TOOLS/testserver" --lifetime 40 --idle 30 "$@" > "$pf" 2>"$TMP/server.err" &
    n=50; while [ "$n" -gt 0 ] && ! [ -s "$pf" ]; do sleep 0.1; n=$((n - 1)); done
    PORT=$(head -1 "$pf")
}

# 401: the server's refusal is the status line; the loom goes on working.
serve --fault 401:0
tui_start 100 30 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m -n 2 "$TMP/a.json"
wait_for 'Tree +1 nodes' 10
keys Enter
if wait_for '401: the API key was refused' 10 && tm resize-window -t 0 -x 60 -y 20 && wait_for 'API key provided\)' 3 &&
   tm resize-window -t 0 -x 100 -y 30; then
    ok tui_http_401_status
else
    fail tui_http_401_status "$(why 'no 401 message in full')"
fi
keys a
keys -l 'by hand'
keys Enter
if wait_for 'Tree +2 nodes' 3 && wait_for 'node +#1 edit' 3 && keys q && wait_exit 5 && grep -q EXIT=0 "$TMP/exit"; then
    ok tui_http_401_usable
else
    fail tui_http_401_usable "$(why 'add a child after the 401, then quit')"
fi
rm -f "$TMP/exit"

# A slow stream (200 ms a token): progress shows, keys move the cursor meanwhile, Esc cancels.
serve --drip 200
tui_start 100 30 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m -n 3 --max-tokens 40 "$TMP/b.json"
wait_for 'Tree +1 nodes' 10
keys Enter
if wait_for 'Tree +4 nodes' 10 && wait_for '/3 branches, ' 3 && keys l && wait_for 'node +#1 model' 2 &&
   keys j && wait_for 'node +#2 model' 2 && wait_for 'generating' 2; then
    ok tui_stream_keys_live
else
    fail tui_stream_keys_live "$(why 'moving while streaming')"
fi
sleep 1.5
keys Escape
if wait_for 'generation cancelled' 3 && wait_gone '/3 branches, ' 3 && [ "$(screen | grep -c '✗')" -ge 3 ]; then
    ok tui_stream_esc_cancel
else
    fail tui_stream_esc_cancel "$(why 'Esc while streaming')"
fi
keys q
wait_exit 5
rm -f "$TMP/exit"

# kill -9 while streaming: the file on disk loads and has the branches that had started.
serve --drip 150
tui_start 100 30 --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m -n 3 --max-tokens 40 "$TMP/c.json"
wait_for 'Tree +1 nodes' 10
keys Enter
wait_for 'Tree +4 nodes' 10
sleep 1.5
shell=$(tm display-message -p -t 0 '#{pane_pid}')
pid=$(ps -o pid= --ppid "$shell" | head -1 | tr -d ' ')
[ -n "$pid" ] && kill -9 "$pid"
wait_exit 5
if "$TOOLS/session_info" "$TMP/c.json" > "$TMP/info" 2>&1 && grep -q '^nodes 4$' "$TMP/info" &&
   ! grep -q '^tokens 0$' "$TMP/info"; then
    ok tui_kill9_keeps_tree
else
    fail tui_kill9_keeps_tree "pid '$pid': $(tr '\n' ' ' < "$TMP/info")"
fi
