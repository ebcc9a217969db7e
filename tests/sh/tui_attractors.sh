#!/bin/sh
# Detected attractors in the TUI: the glyph on member rows, the stats list, A jumps, and a
# recurring phrase underlined in the text panel.
. tests/lib.sh
NAMES="attractor_glyph attractor_list_jump phrase_underlined"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/a.json"
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 2, "max_tokens": 8},
 "root": 0, "cursor": 0,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Start", "children": [1, 2, 3]},
  {"id": 1, "parent": 0, "origin": "model", "text": " one path", "children": [4, 7]},
  {"id": 2, "parent": 0, "origin": "model", "text": " second road", "children": [5, 8]},
  {"id": 3, "parent": 0, "origin": "model", "text": " third way", "children": [6, 9]},
  {"id": 4, "parent": 1, "origin": "model", "text": " and that is all I can say about it.", "children": []},
  {"id": 5, "parent": 2, "origin": "model", "text": " And that is all I can say about it!", "children": []},
  {"id": 6, "parent": 3, "origin": "model", "text": " and that is all i can say about it", "children": []},
  {"id": 7, "parent": 1, "origin": "model", "text": " Then the cat sat on the warm mat today", "children": []},
  {"id": 8, "parent": 2, "origin": "model", "text": " Later a dog sat on the warm mat again", "children": []},
  {"id": 9, "parent": 3, "origin": "model", "text": " So my friend sat on the warm mat quietly", "children": []}
 ]}
JSON
tui_start 120 30 "$S"
wait_for 'Tree +10 nodes' 10
if wait_for 'attractors 2 \(A next\)' 8 && [ "$(screen | grep -c '◆ and that is all')" -ge 1 ] &&
   [ "$(screen | grep -c '◆ ')" -ge 4 ]; then
    ok tui_attractor_glyph
else
    fail tui_attractor_glyph "$(why 'glyphs and the list')"
fi
keys A
if wait_for 'attractor 1/2' 3 && wait_for 'node +#4 model' 3 && keys A && wait_for 'attractor 2/2' 3 &&
   wait_for 'node +#7 model' 3; then
    ok tui_attractor_list_jump
else
    fail tui_attractor_list_jump "$(why 'A jumps')"
fi
sleep 0.5
if tm capture-pane -e -p -t 0 | grep -q "$(printf '\033')\[4msat on the warm mat"; then
    ok tui_phrase_underlined
else
    fail tui_phrase_underlined "$(tm capture-pane -e -p -t 0 | sed -n 2p | cat -v | head -c 400)"
fi
keys q
wait_exit 5
