#!/bin/sh
# tests: 2
# A fold is part of the session: folded in the TUI, it is folded again when reopened.
. tests/lib.sh
NAMES="tui_fold_saved tui_fold_reopened"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/f.json"
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1, "settings": {"backend": "builtin"}, "root": 0, "cursor": 1,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Start", "children": [1, 3]},
  {"id": 1, "parent": 0, "origin": "model", "text": " folded one", "children": [2]},
  {"id": 2, "parent": 1, "origin": "model", "text": " hidden kid", "children": []},
  {"id": 3, "parent": 0, "origin": "model", "text": " other", "children": []}
 ]}
JSON
tui_start 100 30 "$S"
wait_for 'hidden kid' 10
keys z
wait_gone 'hidden kid' 3
keys q
wait_exit 10
if grep -q '"folded":true' "$S"; then ok tui_fold_saved; else fail tui_fold_saved "no fold in the saved file: $(head -c 400 "$S")"; fi
tui_start 100 30 "$S"
if wait_for 'folded one' 10 && ! screen | grep -q 'hidden kid'; then
    ok tui_fold_reopened
else
    fail tui_fold_reopened "$(why 'the reopened tree shows the folded child')"
fi
keys q
wait_exit 5
