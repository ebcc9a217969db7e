#!/bin/sh
# tests: 9
# The interactive loom on the embedded model (tmux): it opens on the base model, Enter
# streams 4 branches from it, and while a long generation runs the keys still move the
# cursor and Esc cancels it (partial branches kept).
. tests/lib.sh
NAMES="builtin_open_base builtin_enter_streams_4 builtin_nodes_record_base builtin_switch_model builtin_cut_shown builtin_cut_stays builtin_keys_live builtin_esc_cancels builtin_partial_kept"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/s.json"
# nodes_with FILE PATTERN : how many generated nodes of the saved FILE match PATTERN.
nodes_with() { grep -E '"origin": ?"model"' "$1" 2>/dev/null | grep -c "$2"; }
# saved_with FILE PATTERN N : waits (bounded) until the saved file holds N such nodes (the
# save may run in a child process).
saved_with() {
    n=$(( 30 * TUI_SLOW ))
    while [ "$n" -gt 0 ]; do
        [ "$(nodes_with "$1" "$2")" = "$3" ] && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}

# The defaults: builtin backend, base model, 4 branches.
tui_start 100 30 --prompt "ROMEO:" "$S"
if wait_for 'Tree +1 nodes' 15 && wait_for ' builtin base ' 3; then ok tui_builtin_open_base; else fail tui_builtin_open_base "$(why 'status line should name the base model')"; fi
keys Enter
if wait_for 'Tree +5 nodes' 15 && wait_gone 'branches,' 15 && [ "$(screen | grep -c '^[├└]── ')" = 4 ]; then
    ok tui_builtin_enter_streams_4
else
    fail tui_builtin_enter_streams_4 "$(why 'expected 4 branches under the prompt')"
fi
keys s
wait_for ' saved ' 5
if saved_with "$S" '"model": \{0,1\}"base"' 4 && [ "$(nodes_with "$S" '"finish_reason": \{0,1\}"length"')" -ge 2 ]; then
    ok tui_builtin_nodes_record_base
else
    fail tui_builtin_nodes_record_base "$(head -c 600 "$S" | tr '\n' '|')"
fi
# The settings form shows the model and switches it: the next branches are the tuned model's.
keys S
if wait_for ' Settings ' 3 && wait_for 'model +base' 3 && keys Down Down &&
   keys C-u && keys -l tuned && wait_for 'model +tuned' 3 && keys PgDn Enter && wait_gone ' Settings ' 3 &&
   wait_for ' builtin tuned ' 3 && keys Enter && wait_for 'Tree +9 nodes' 15 && wait_gone 'branches,' 15 &&
   keys s && saved_with "$S" '"model": \{0,1\}"tuned"' 4; then
    ok tui_builtin_switch_model
else
    fail tui_builtin_switch_model "$(why 'model = tuned in the settings, then Enter')"
fi
keys q
wait_exit 5
rm -f "$TMP/exit"

# A long generation (8 branches of up to 384 tokens: seconds of work for the model's
# thread): the cursor moves meanwhile, and Esc ends it at once.  The prompt is longer than
# the model's context leaves room for: the status line says it was cut.
S2="$TMP/long.json"
i=0; while [ $i -lt 60 ]; do echo "ROMEO: And the king said to the queen, my lord."; i=$((i + 1)); done > "$TMP/long.txt"
tui_start 120 30 --prompt-file "$TMP/long.txt" -n 8 --max-tokens 384 "$S2"
wait_for 'Tree +1 nodes' 15
keys Enter
if wait_for 'context cut: the last [0-9]+ of [0-9]+ tokens' 10; then ok tui_builtin_cut_shown; else fail tui_builtin_cut_shown "$(why 'no note of the cut context')"; fi
if wait_for 'Tree +9 nodes' 10 && wait_for '/8 branches, ' 3 && keys l && wait_for 'node +#1 model' 2 &&
   keys j && wait_for 'node +#2 model' 2 && screen | grep -q '/8 branches, '; then
    ok tui_builtin_keys_live
else
    fail tui_builtin_keys_live "$(why 'moving while the model generates')"
fi
keys Escape
if wait_for 'generation cancelled' 3 && wait_gone '/8 branches, ' 3 && [ "$(screen | grep -c '✗')" -ge 4 ]; then
    ok tui_builtin_esc_cancels
else
    fail tui_builtin_esc_cancels "$(why 'Esc while the model generates')"
fi
keys s
# Every branch was cut short of its 384 tokens and kept what it had.
saved_with "$S2" '"finish_reason": \{0,1\}"cancelled"' 8
short=$(nodes_with "$S2" '"finish_reason": \{0,1\}"cancelled"')
if [ "$short" -ge 4 ] && [ "$(nodes_with "$S2" '"text": \{0,1\}""')" = 0 ]; then
    ok tui_builtin_partial_kept
else
    fail tui_builtin_partial_kept "$short cancelled branches; $(head -c 600 "$S2" | tr '\n' '|')"
fi
keys q
wait_exit 5
rm -f "$TMP/exit"

# A short generation from the long prompt: the note of the cut stays once it has ended.
tui_start 120 30 --prompt-file "$TMP/long.txt" "$TMP/short.json"
wait_for 'Tree +1 nodes' 15
keys Enter
if wait_for 'Tree +5 nodes' 15 && wait_gone 'branches,' 15 && wait_for 'context cut: the last [0-9]+ of [0-9]+ tokens' 2; then
    ok tui_builtin_cut_stays
else
    fail tui_builtin_cut_stays "$(why 'the note of the cut context went with the progress')"
fi
keys q
wait_exit 5
