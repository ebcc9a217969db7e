#!/bin/sh
# tests: 13
# The mouse in the TUI: a click on a tree row selects that node, a click elsewhere only
# focuses a panel (or does nothing), the wheel scrolls the panel under it, and a dialog
# keeps the mouse away from the tree.  tmux cannot click, so the test writes the bytes a
# terminal sends for a click into the pane: X10 reports (ESC [ M b x y) for TERM=screen
# (kmous=\E[M), SGR reports (ESC [ < b ; x ; y M) for TERM=xterm-256color (kmous=\E[<).
. tests/lib.sh
NAMES="mouse_click_selects mouse_click_outside mouse_focus_text mouse_click_alternative
mouse_wheel_text mouse_wheel_tree mouse_click_scrolled mouse_click_stays mouse_click_folded
mouse_dialog_ignores mouse_wheel_help mouse_other_buttons mouse_sgr_click"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
# sgr BUTTON COL ROW (0-based): the SGR press and release.
sgr() {
    tm send-keys -t 0 -l "$(printf '\033[<%d;%d;%dM\033[<%d;%d;%dm' "$1" $(($2 + 1)) $(($3 + 1)) "$1" $(($2 + 1)) $(($3 + 1)))"
    sleep 0.2
}
# row PATTERN : the 0-based screen row where the tree panel (left of the first │) shows PATTERN.
row() { screen | sed 's/│.*//' | grep -anE -- "$1" | head -n 1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }
node_is() { wait_for "node +#$1 " 3; }
# at ROW PATTERN : screen row ROW (0-based) shows PATTERN, within a few seconds.
at() {
    n=$((30 * TUI_SLOW))
    while [ "$n" -gt 0 ]; do
        screen | sed -n "$(($1 + 1))p" | grep -aqE -- "$2" && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

S="$TMP/m.json"
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 2, "max_tokens": 8},
 "root": 0, "cursor": 0,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Start", "children": [1, 2, 3]},
  {"id": 1, "parent": 0, "origin": "model", "text": " one path", "children": [],
   "tokens": [{"text": " one", "logprob": -0.4, "top": [{"text": " one", "logprob": -0.4}, {"text": " two", "logprob": -1.5}, {"text": " six", "logprob": -2.5}]},
              {"text": " path", "logprob": -0.1, "top": [{"text": " path", "logprob": -0.1}]}]},
  {"id": 2, "parent": 0, "origin": "model", "text": " second road", "children": [4, 5]},
  {"id": 3, "parent": 0, "origin": "model", "text": " third way\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\nl12\nl13\nl14\nl15\nl16 last line", "children": []},
  {"id": 4, "parent": 2, "origin": "model", "text": " hidden kid", "children": []},
  {"id": 5, "parent": 2, "origin": "model", "text": " other kid", "children": []}
 ]}
JSON
cp "$S" "$TMP/m0.json"
# 120x30: the tree is columns 0-47 with its title on row 0, the text panel rows 0-11 right
# of it, the tokens panel below that, the stats panel at the bottom right.
tui_start 120 30 "$S"
wait_for 'Tree +6 nodes' 10
r=$(row 'third way')
if [ -n "$r" ] && click 10 "$r" && node_is 3 && wait_for 'l16 last line' 3 &&
   r=$(row 'one path') && click 10 "$r" && node_is 1; then
    ok tui_mouse_click_selects
else
    fail tui_mouse_click_selects "$(why 'a click on a tree row')"
fi

# Past the last row, the status line, the separator, the stats panel: nothing moves, and
# the keys still work after (no report bytes taken as keys).
click 10 20; click 10 29; click 48 5; click 80 25
if node_is 1 && ! screen | grep -q 'termloom keys\|edit (' && keys Down && node_is 2; then
    ok tui_mouse_click_outside
else
    fail tui_mouse_click_outside "$(why 'clicks outside the rows')"
fi

# A click in the text panel focuses it: Up then scrolls the text, not the tree.
r=$(row 'third way'); click 10 "$r"; node_is 3
click 80 5
if keys Up && wait_for '\[scrolled\]' 3 && node_is 3 &&
   r=$(row 'second road') && click 10 "$r" && node_is 2 && keys Down && node_is 3; then
    ok tui_mouse_focus_text
else
    fail tui_mouse_focus_text "$(why 'the text panel focused by a click')"
fi

# A click on an alternative in the tokens panel chooses it (rows 12-20: title, the token,
# its entropy, then the alternatives).
r=$(row 'one path'); click 10 "$r"; node_is 1
click 80 16
if wait_for "▶ ' two'" 3 && click 80 15 && wait_for "▶ ' one'" 3; then
    ok tui_mouse_click_alternative
else
    fail tui_mouse_click_alternative "$(why 'a click on an alternative')"
fi

# The wheel over the text panel scrolls it (3 lines a notch) and back.
r=$(row 'third way'); click 10 "$r"; node_is 3
x10 64 80 5
if wait_for '\[scrolled\]' 3 && screen | grep -q '│l3 *$' && ! screen | grep -q 'l16 last' && x10 65 80 5 && wait_gone '\[scrolled\]' 3 &&
   node_is 3; then
    ok tui_mouse_wheel_text
else
    fail tui_mouse_wheel_text "$(why 'the wheel over the text')"
fi

# A folded node's row: a click on the row under it selects the node drawn there, not a
# hidden child; a click on the folded row selects it.
r=$(row 'second road'); click 10 "$r"; node_is 2
keys z
if wait_gone 'hidden kid' 3 && r=$(row 'third way') && click 10 "$r" && node_is 3 &&
   r=$(row 'second road') && click 10 "$r" && node_is 2 && ! screen | grep -q 'hidden kid'; then
    ok tui_mouse_click_folded
else
    fail tui_mouse_click_folded "$(why 'clicks around a folded row')"
fi

# While a dialog is open the mouse does not move the cursor: the delete asked for #2 stays
# the delete of #2 whatever is clicked before the answer.
r=$(row 'one path')
keys d
wait_for 'Delete node #2 and its 2 descendants' 3
click 10 "$r"; x10 65 10 5
keys y
if wait_for 'Tree +3 nodes' 3 && screen | grep -q 'one path' && ! screen | grep -q 'second road'; then
    ok tui_mouse_dialog_ignores
else
    fail tui_mouse_dialog_ignores "$(why 'a click while a dialog is open')"
fi
# The help fills the screen: the wheel scrolls it, a click does nothing.
keys '?'
if wait_for ' help 1-29 of ' 3 && x10 65 10 5 && wait_for ' help 4-32 of ' 3 && click 10 3 &&
   x10 64 10 5 && wait_for ' help 1-29 of ' 3 && keys q && wait_for 'Tree +3 nodes' 3; then
    ok tui_mouse_wheel_help
else
    fail tui_mouse_wheel_help "$(why 'the wheel over the help')"
fi
keys q
wait_exit 5

# The right and the middle button select nothing, and the program does not stall on them:
# a resize after the clicks, with no key following, is drawn at once (ncurses, asked only
# for button 1, read on in a blocking read() after any other button's press and release).
tui_start 120 30 "$TMP/m0.json"
wait_for 'Tree +6 nodes' 10
r=$(row 'third way')
x10 2 10 "$r"; x10 1 10 "$r"
tm resize-window -t 0 -x 30 -y 8
if wait_for 'needs at least' 3 && tm resize-window -t 0 -x 120 -y 30 && wait_for 'Tree +6 nodes' 3 && node_is 0; then
    ok tui_mouse_other_buttons
else
    fail tui_mouse_other_buttons "$(why 'right and middle clicks, then a resize')"
fi
keys q
wait_exit 5

# A long flat list: the wheel scrolls the tree without moving the cursor, and a click then
# selects the node drawn on the clicked row.
B="$TMP/flat.json"
awk 'BEGIN {
    n = 60; c = ""
    for (i = 1; i < n; i++) c = c (i > 1 ? ", " : "") i
    print "{\"format\": \"termloom-session\", \"version\": 1, \"settings\": {\"backend\": \"builtin\"}, \"root\": 0, \"cursor\": 0, \"nodes\": ["
    printf "{\"id\": 0, \"parent\": null, \"origin\": \"prompt\", \"text\": \"Root\", \"children\": [%s]},\n", c
    for (i = 1; i < n; i++)
        printf "{\"id\": %d, \"parent\": 0, \"origin\": \"model\", \"text\": \" leaf%02d\", \"children\": []}%s\n", i, i, (i < n - 1 ? "," : "")
    print "]}"
}' > "$B"
tui_start 120 30 "$B"
wait_for 'Tree +60 nodes' 10
x10 65 10 5; x10 65 10 5; x10 65 10 5
if at 1 'leaf09' && node_is 0 && x10 64 10 5 && at 1 'leaf06'; then
    ok tui_mouse_wheel_tree
else
    fail tui_mouse_wheel_tree "$(why 'the wheel over the tree')"
fi
# leaf25 is on row 20 now (row 1 shows leaf06); near the bottom, row 28 after a scroll
# past the end.
click 10 20
ok1=0; node_is 25 && ok1=1
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do x10 65 10 5; done
at 28 'leaf59'
r=$(row 'leaf57')
if [ "$ok1" = 1 ] && [ "$r" = 26 ] && click 10 26 && node_is 57; then
    ok tui_mouse_click_scrolled
else
    fail tui_mouse_click_scrolled "$(why "clicks on a scrolled tree (first click ok=$ok1, leaf57 on row $r)")"
fi
# A click near the bottom selects the row and the panel stays still (the cursor's scroll
# margin does not shift the rows under the pointer); the next key scrolls as usual.
keys Home
at 1 'Root'
click 10 27
if node_is 26 && at 27 'leaf26' && at 1 'Root' && click 10 28 && node_is 27 && at 28 'leaf27' &&
   keys Up && node_is 26 && at 26 'leaf26'; then
    ok tui_mouse_click_stays
else
    fail tui_mouse_click_stays "$(why 'a click near the bottom of the tree')"
fi
keys q
wait_exit 5

# An xterm-256color terminal reports the mouse in the SGR form.
TUI_TERM=xterm-256color tui_start 120 30 "$TMP/m0.json"
wait_for 'Tree +6 nodes' 10
r=$(row 'third way')
if [ -n "$r" ] && sgr 0 10 "$r" && node_is 3 && r=$(row 'one path') && sgr 0 10 "$r" && node_is 1 &&
   sgr 0 10 20 && node_is 1 && keys Down && node_is 2; then
    ok tui_mouse_sgr_click
else
    fail tui_mouse_sgr_click "$(why 'SGR clicks')"
fi
keys q
wait_exit 5
