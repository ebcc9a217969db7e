#!/bin/sh
# tests: 3
# Quitting after a failed save: the TUI tries again, then asks for another file instead of
# exiting with the branches lost (the session's folder was removed under it).
. tests/lib.sh
NAMES="quit_after_failed_save quit_after_failed_save_back quit_without_saving"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
mkdir -p "$TMP/gone"
S="$TMP/gone/s.json"
tui_start 100 30 -n 2 "$S"
wait_for 'Tree +1 nodes' 15
rm -rf "$TMP/gone"
keys Enter
wait_for 'Tree +3 nodes' 15 && wait_gone 'branches,' 15
keys q
if wait_for 'NOT SAVED: save to' 5; then
    keys Escape
    if wait_gone 'NOT SAVED: save to' 3 && wait_for 'Tree +3 nodes' 3 && [ ! -s "$TMP/exit" ]; then
        ok tui_quit_after_failed_save_back
    else
        fail tui_quit_after_failed_save_back "$(why 'Esc goes back to the tree')"
    fi
else
    fail tui_quit_after_failed_save_back "$(why 'q after a failed save asks where to save')"
fi
keys q
wait_for 'NOT SAVED: save to' 5
keys C-u                                            # clear the suggested path
tm send-keys -t 0 -l "$TMP/rescue.json"
keys Enter
if wait_exit 10 && grep -q 'EXIT=0' "$TMP/exit" && [ "$(grep -c '"origin":"model"' "$TMP/rescue.json" 2>/dev/null)" = 2 ]; then
    ok tui_quit_after_failed_save
else
    fail tui_quit_after_failed_save "the branches were not saved to the new file: $(cat "$TMP/exit" "$TMP/stderr" 2>/dev/null | head -c 300)"
fi

# An empty answer asks, and y quits without saving.
mkdir -p "$TMP/gone2"
S="$TMP/gone2/s.json"
tui_start 100 30 -n 2 "$S"
wait_for 'Tree +1 nodes' 15
rm -rf "$TMP/gone2"
keys Enter
wait_for 'Tree +3 nodes' 15 && wait_gone 'branches,' 15
keys q
wait_for 'NOT SAVED: save to' 5
keys C-u Enter
if wait_for 'quit WITHOUT saving' 3 && keys y && wait_exit 10; then
    ok tui_quit_without_saving
else
    fail tui_quit_without_saving "$(why 'an empty path asks before quitting unsaved')"
fi
