#!/bin/sh
# tests: 22
# The compare view in the real TUI, driven in tmux: c, a spec line, the two columns with
# figures and bars while sampling runs through the event loop, Enter jumps into the tree,
# and the samples are in the saved session.
. "$(dirname "$0")/../lib.sh"
command -v tmux >/dev/null 2>&1 || { for n in $(sed -n 's/^check \(compare_tui_[a-z0-9_]*\) .*/\1/p' "$0"); do skip "$n" "tmux is not installed"; done; exit 0; }
S="termloom-compare-$$"
SOCK="$TMP/tmux.sock"
tm() { tmux -S "$SOCK" "$@"; }
screen() { tm capture-pane -p -t "$S" 2>/dev/null; }
# wait_for PATTERN: up to 10 s for the screen to show it.
wait_for() {
    i=0
    while [ $i -lt 100 ]; do
        screen | grep -q -- "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
tm new-session -d -s "$S" -x 120 -y 40 \
    "env TERMLOOM_CLOCK=1700000000 '$T' --prompt 'The tree' --max-tokens 6 --seed 3 '$TMP/s.json'; sleep 1"
trap 'tm kill-server 2>/dev/null; reap; rm -rf "$TMP"' EXIT
check compare_tui_started wait_for 'Tree'
tm send-keys -t "$S" c
check compare_tui_asks_specs wait_for 'compare  A | B | N:'
# B gets a name; A is named after the model its samples report (the builtin default, base)
tm send-keys -t "$S" C-a C-k 'temperature=1 | temperature=0.2,name=cold | 16' Enter
check compare_tui_finishes wait_for 'compare: done, 16 samples per side'
screen > "$TMP/screen"
check compare_tui_two_columns sh -c "grep -q '^ A: base .*B: cold' '$TMP/screen' &&
    grep -q '^backend=builtin temperature=1.0 .*backend=builtin temperature=0.2' '$TMP/screen'"
check compare_tui_overrepresented_shown grep -q '^over-represented: ' "$TMP/screen"
# "16 samples, GA groups ... 16 samples, GB groups" on one row.
row=$(grep -m1 '16 samples, [0-9]* groups.*16 samples, [0-9]* groups' "$TMP/screen")
ga=$(printf '%s\n' "$row" | sed 's/^16 samples, \([0-9]*\) groups.*/\1/')
gb=$(printf '%s\n' "$row" | sed 's/.*16 samples, \([0-9]*\) groups.*/\1/')
check compare_tui_cold_side_fewer_groups test "${gb:-99}" -lt "${ga:-0}"
check compare_tui_bars grep -Eq '^(█|#)(░|\.)* +[0-9]+(×|x) ' "$TMP/screen"
check compare_tui_entropy_shown grep -q 'entropy  [0-9.]* bits, [0-9.]* of max' "$TMP/screen"
# Enter on B's top group: back in the tree, on a sample under the B label.
tm send-keys -t "$S" Tab Enter
check compare_tui_jumps_to_tree wait_for 'group of [0-9]* on side B'
screen > "$TMP/screen2"
check compare_tui_tree_shows_labels sh -c "grep -q 'compare B: cold · builtin temperature=0' '$TMP/screen2' &&
    grep -q 'compare A: base · builtin temperature=1' '$TMP/screen2'"
check compare_tui_stats_names_side grep -q 'side     B: cold' "$TMP/screen2"
check compare_tui_view_closed sh -c "! grep -q '^ Compare  #' '$TMP/screen2'"
# c on a sample reopens the comparison without sampling again.
tm send-keys -t "$S" c
check compare_tui_reopens wait_for '^ Compare  #0'
tm send-keys -t "$S" Escape q
i=0; while tm has-session -t "$S" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
n=$(grep -Eo '"origin": ?"model"' "$TMP/s.json" 2>/dev/null | wc -l)
check compare_tui_samples_saved test "$n" -eq 32
check compare_tui_labels_saved grep -Eq '"compare": ?"B"' "$TMP/s.json"

# Over HTTP with a slow server (1.5 s before each answer): the view shows progress, Esc
# closes it at once while sampling goes on in the event loop, and c shows the result.
"$TOOLS/testserver" --lifetime 30 --idle 10 --latency 1500 > "$TMP/port" 2>/dev/null &
SERVER=$!
i=0; while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
URL="http://127.0.0.1:$(head -1 "$TMP/port")/v1"
S2="$S-http"
tm new-session -d -s "$S2" -x 120 -y 40 \
    "'$T' --backend openai --base-url '$URL' --model base --prompt 'Hello' --max-tokens 4 '$TMP/h.json'; sleep 1"
S="$S2"
check compare_tui_http_started wait_for 'Tree'
tm send-keys -t "$S" c
wait_for 'compare  A | B | N:' >/dev/null
tm send-keys -t "$S" C-a C-k 'model=base | model=tuned;same=1 | 8' Enter
check compare_tui_http_progress wait_for 'sampling 0/8'
t0=$(date +%s%N)
tm send-keys -t "$S" Escape
wait_for '^ Tree' >/dev/null
t1=$(date +%s%N)
check compare_tui_http_esc_does_not_wait test $(( (t1 - t0) / 1000000 )) -lt 1000
check compare_tui_http_status_shows_progress wait_for 'comparing #0: A [0-8]/8, B [0-8]/8'
check compare_tui_http_done_in_background wait_for 'compare: done, 8 samples per side'
tm send-keys -t "$S" c
wait_for '^ Compare  #0' >/dev/null
screen > "$TMP/screen3"
check compare_tui_http_collapsed_side grep -q '8 samples, [0-9]* groups.*8 samples, 1 groups' "$TMP/screen3"
check compare_tui_http_zero_bits grep -q 'entropy  0.00 bits, 0.00 of max' "$TMP/screen3"
tm send-keys -t "$S" Escape q
kill "$SERVER" 2>/dev/null
