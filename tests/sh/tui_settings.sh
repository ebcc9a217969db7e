#!/bin/sh
# tests: 4
# The settings form: every field checked as typed (an unknown theme is shown invalid on its
# line with the reason and cannot be applied), Esc leaves every setting as it was, [Apply]
# applies; status messages go at the next key and never cover the progress line.
. tests/lib.sh
NAMES="tui_settings_invalid_theme tui_settings_esc_unchanged tui_settings_apply tui_message_expires"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/s.json"
tui_start 80 24 --backend ngram "$S"
wait_for 'Tree +1 nodes' 10

# theme is the last field: Up from the first one goes to [Apply], Up again to theme.
keys S
wait_for ' Settings ' 3
keys Down Down Down Down Down C-u
keys -l 0.25
keys Up Up Up Up Up Up Up
keys C-u
keys -l nosuchtheme
if wait_for 'theme +nosuchtheme +✗ theme .nosuchtheme' 3 && wait_for "theme: theme 'nosuchtheme' not found" 1 &&
   keys Down && keys Enter &&
   wait_for 'not applied: theme is not valid' 3 && screen | grep -q ' Settings '; then
    ok tui_settings_invalid_theme
else
    fail tui_settings_invalid_theme "$(why 'an unknown theme typed, then Apply')"
fi

keys Escape
keys s
if wait_gone ' Settings ' 3 && wait_for "saved $S" 3 && grep -q '"temperature": \{0,1\}1[,}]' "$S" &&
   keys S && wait_for 'temperature +1 ' 3 && keys Up Up && wait_for 'theme +dark' 3 && keys Escape; then
    ok tui_settings_esc_unchanged
else
    fail tui_settings_esc_unchanged "$(why 'Esc after changing temperature and theme'; head -c 300 "$S")"
fi

# temperature 0.25 and a real theme: applied, saved with the session.
keys S
wait_for ' Settings ' 3
keys Down Down Down Down Down C-u
keys -l 0.25
keys Up Up Up Up Up Up Up C-u
keys -l light
if wait_for 'theme +light +\(changed\)' 3 && keys Down Enter && wait_gone ' Settings ' 3 &&
   wait_for 'settings applied: temperature, theme' 3 && keys s && wait_for "saved $S" 3 &&
   grep -q '"temperature": \{0,1\}0.25' "$S"; then
    ok tui_settings_apply
else
    fail tui_settings_apply "$(why 'temperature 0.25 and theme light applied'; head -c 300 "$S")"
fi

# An error (the root cannot be deleted) goes at the next key, and while branches stream
# the progress line is there whatever message came before.
keys d
if wait_for 'cannot be deleted' 3 && keys h && wait_gone 'cannot be deleted' 3 &&
   keys d && wait_for 'cannot be deleted' 3 && keys Enter && wait_for 'Tree +5 nodes' 15; then
    ok tui_message_expires
else
    fail tui_message_expires "$(why 'an error, then a key')"
fi
keys q
wait_exit 5
