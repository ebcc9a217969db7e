#!/bin/sh
# tests: 12
# More of the loom in tmux: merge view, search, settings dialog, edit, add, export, opening
# another loom's file, key rebinding from the config file, themes and NO_COLOR.
. tests/lib.sh
NAMES="merge_view merge_view_reveals search settings_dialog edit_add edit_external export import_open rebind theme_colours theme_8_colours no_color"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/m.json"
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 4, "max_tokens": 6},
 "root": 0, "cursor": 0,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Is it true?", "children": [1, 2, 3, 4]},
  {"id": 1, "parent": 0, "origin": "model", "text": " Yes.", "finish_reason": "stop", "children": []},
  {"id": 2, "parent": 0, "origin": "model", "text": " yes!", "finish_reason": "stop", "children": []},
  {"id": 3, "parent": 0, "origin": "model", "text": " No, never in a thousand years.", "finish_reason": "stop", "children": [5]},
  {"id": 4, "parent": 0, "origin": "model", "text": " YES", "finish_reason": "stop", "children": []},
  {"id": 5, "parent": 3, "origin": "model", "text": " Well, never say never.", "finish_reason": "stop", "children": []}
 ]}
JSON
tui_start 100 30 "$S"
wait_for 'Tree +6 nodes' 10
keys M
if wait_for '×3' 3 && [ "$(screen | grep -cE '^[├└]')" = 2 ] && keys M && wait_gone '×3' 3 &&
   [ "$(screen | grep -cE '^[├└]')" = 4 ]; then
    ok tui_merge_view
else
    fail tui_merge_view "$(why 'merge view rows')"
fi

keys /
keys -l never
keys Enter
if wait_for 'node +#3 model' 3 && keys n && wait_for 'node +#5 model' 3 && keys n && wait_for 'node +#3 model' 3 &&
   keys N && wait_for 'node +#5 model' 3; then
    ok tui_search
else
    fail tui_search "$(why 'search never / n / N')"
fi

# A hit folded into a merged group: merge view steps aside to show it.
keys M
wait_for '×3' 3
keys /
keys C-u
keys -l 'yes!'
keys Enter
if wait_for 'merge view off' 3 && wait_for 'node +#2 model' 3 && [ "$(screen | grep -cE '^[├└]')" = 4 ]; then
    ok tui_merge_view_reveals
else
    fail tui_merge_view_reveals "$(why 'search into a merged group')"
fi

# Settings: k = 2, then generate at the root: two new branches.
keys Home
keys S
wait_for ' Settings ' 3
keys Down Down Down
keys C-u
keys -l 2
if wait_for 'branches +2 ' 3 && keys PgDn Enter && wait_gone ' Settings ' 3 && keys Enter && wait_for 'Tree +8 nodes' 15; then
    ok tui_settings_dialog
else
    fail tui_settings_dialog "$(why 'branches=2 then generate')"
fi
wait_gone 'branches,' 10

# Edit a node (its tokens go), add a child by hand.
keys Home l
keys e
wait_for 'edit \(' 3
keys C-u
keys -l 'rewritten by hand'
keys Enter
keys a
keys -l 'a child I wrote'
keys Enter
if wait_for 'rewritten by hand' 3 && wait_for 'node +#8 edit' 3 && screen | grep -q 'a child I wrote' &&
   wait_for 'Tree +9 nodes' 3; then
    ok tui_edit_add
else
    fail tui_edit_add "$(why 'edit and add')"
fi

# Export the path as Markdown through the chooser.
keys x
wait_for ' Export ' 3
keys 4
wait_for 'export to: ' 3
keys C-u
keys -l "$TMP/path.md"
keys Enter
if wait_for 'exported md' 3 && grep -q 'a child I wrote' "$TMP/path.md" && grep -q 'rewritten by hand' "$TMP/path.md"; then
    ok tui_export
else
    fail tui_export "$(why 'md export')"
fi
keys q
wait_exit 5
rm -f "$TMP/exit"

# Another loom's file opens; it is saved beside, never over.
cp "$TERMLOOM_ROOT/tests/fixtures/loom_nested.json" "$TMP/other.json"
cp "$TMP/other.json" "$TMP/other.orig"
tui_start 100 30 "$TMP/other.json"
if wait_for 'imported' 10 && screen | grep -q 'sat on the mat' && keys q && wait_exit 5 &&
   cmp -s "$TMP/other.json" "$TMP/other.orig" && "$TOOLS/session_info" "$TMP/other.termloom.json" >/dev/null; then
    ok tui_import_open
else
    fail tui_import_open "$(why 'import') $(cat "$TMP/stderr")"
fi
rm -f "$TMP/exit"

# [keys] in the config: quit moves to Q; help shows it.
mkdir -p "$XDG_CONFIG_HOME/termloom"
printf '[keys]\nquit = Q\nnext_sibling = Down n\n' > "$XDG_CONFIG_HOME/termloom/config"
tui_start 100 30 "$S"
wait_for 'Tree +' 10
keys q
sleep 0.3
still=0; [ -s "$TMP/exit" ] || still=1
keys '?'
wait_for 'termloom keys' 3
screen > "$TMP/help1"
keys NPage
screen >> "$TMP/help1"
if [ $still = 1 ] && grep -Eq '^ +Q +quit ' "$TMP/help1" && grep -Eq '^ +Down n +next_sibling ' "$TMP/help1" &&
   keys Escape && keys Q && wait_exit 5; then
    ok tui_rebind
else
    fail tui_rebind "$(why 'Q quits, q does not')"
fi
rm -f "$XDG_CONFIG_HOME/termloom/config" "$TMP/exit"

# Themes: the dark theme uses 256 colours; --theme mono and NO_COLOR use none.
colours() { tm capture-pane -e -p -t 0 | grep -cE "$(printf '\033')\[([0-9;]*;)?(3[0-7]|38;5;[0-9]+|4[0-7]|48;5;[0-9]+)(;|m)"; }
tui_start 100 30 "$S"
wait_for 'Tree +' 10
dark=$(colours)
keys q; wait_exit 5; rm -f "$TMP/exit"
tui_start 100 30 --theme mono "$S"
wait_for 'Tree +' 10
mono=$(colours)
keys q; wait_exit 5; rm -f "$TMP/exit"
if [ "$dark" -gt 0 ] && [ "$mono" = 0 ]; then ok tui_theme_colours; else fail tui_theme_colours "dark $dark, mono $mono"; fi
# An 8-colour terminal: the 256-colour theme falls back to the basic colours.
TUI_TERM=screen
tui_start 100 30 "$S"
wait_for 'Tree +' 10
eight=$(colours)
wide=$(tm capture-pane -e -p -t 0 | grep -c '38;5;')
keys q; wait_exit 5; rm -f "$TMP/exit"
TUI_TERM=
if [ "$eight" -gt 0 ] && [ "$wide" = 0 ]; then ok tui_theme_8_colours; else fail tui_theme_8_colours "$eight coloured, $wide 256-colour"; fi
TUI_PRE="NO_COLOR=1"
tui_start 100 30 --theme dark "$S"
wait_for 'Tree +' 10
nc=$(colours)
drawn=$(screen | grep -c 'Tree')
keys q; wait_exit 5
if [ "$nc" = 0 ] && [ "$drawn" -ge 1 ]; then ok tui_no_color; else fail tui_no_color "$nc coloured lines with NO_COLOR"; fi
rm -f "$TMP/exit"

# E: the node's text in $EDITOR (here a script that rewrites the file).
printf '#!/bin/sh\nprintf "written in the editor\\n" > "$1"\n' > "$TMP/ed.sh"
chmod +x "$TMP/ed.sh"
TUI_PRE="EDITOR='$TMP/ed.sh'"
tui_start 100 30 "$S"
wait_for 'Tree +' 10
keys Home
keys j
wait_for 'node +#0 prompt' 3
keys E
if wait_for '▾   written in the editor' 5 && wait_for 'node +#0 prompt' 3 && wait_for 'edited in' 3; then
    ok tui_edit_external
else
    fail tui_edit_external "$(why 'E with EDITOR')"
fi
keys q
wait_exit 5
