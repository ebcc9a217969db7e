#!/bin/sh
# tests: 5
# The mouse in the compare view: a click on a group selects it, a second click on it goes to
# it in the tree (as Enter), a click in the other column switches side, the wheel scrolls
# the list under it; and in the tree, a click on the stats panel's side row goes to that
# side's label.
. tests/lib.sh
NAMES="compare_click_selects compare_second_click compare_click_side compare_wheel stats_click_side"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc

C="$TMP/c.json"
"$T" compare --a temperature=1.5 --b temperature=0.2,name=cold --prompt "The tree" --max-tokens 4 -n 24 \
    --seed 3 -o "$C" > /dev/null 2>&1
# col SIDE ROW : the group text a column (A or B) shows on screen row ROW (0-based).
col() {
    screen | sed -n "$(($2 + 1))p" | if [ "$1" = A ]; then sed 's/│.*//'; else sed 's/^[^│]*│//'; fi |
        sed 's/^[^×]*× *//; s/ *$//'
}
# col_is SIDE ROW TEXT : within a few seconds, row ROW of that column shows TEXT.
col_is() {
    n=$((30 * TUI_SLOW))
    while [ "$n" -gt 0 ]; do
        [ "$(col "$1" "$2")" = "$3" ] && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
# first SIDE : the screen row of that column's first group (its bar starts the column).
first() {
    screen | if [ "$1" = A ]; then sed 's/│.*//'; else sed 's/^[^│]*│//'; fi |
        grep -anE '^(█|#)' | head -n 1 | cut -d: -f1 | awk '{ print $1 - 1 }'
}
# path_is TEXT : the text panel shows the prompt followed by TEXT (the node went to).
path_is() { wait_for "│The tree *$(printf '%s' "$1" | sed 's/[][\.*^$?+(){}|]/\\&/g')" 3; }

tui_start 100 30 "$C"
wait_for 'Tree +51 nodes' 10
keys c
wait_for '^ Compare  #0' 5
ra=$(first A); rb=$(first B)
t0=$(col A "$ra"); t2=$(col A "$((ra + 2))"); t3=$(col A "$((ra + 3))")
# A click on A's third group selects it: Enter goes there, not to the first one.
if [ -n "$ra" ] && [ -n "$t2" ] && [ "$t2" != "$t0" ] && click 20 "$((ra + 2))" && keys Enter &&
   wait_for 'group of 1 on side A' 3 && path_is "$t2"; then
    ok tui_compare_click_selects
else
    fail tui_compare_click_selects "$(why "a click on A's group '$t2' (row $((ra + 2)))")"
fi
# A second click on a group goes to it, as Enter does.
keys c
wait_for '^ Compare  #0' 5
if [ -n "$t3" ] && click 20 "$((ra + 3))" && screen | grep -q '^ Compare  #0' && click 20 "$((ra + 3))" &&
   wait_gone '^ Compare  #0' 3 && path_is "$t3"; then
    ok tui_compare_second_click
else
    fail tui_compare_second_click "$(why "two clicks on A's group '$t3'")"
fi
# A click in B's column (its config line) switches side: Enter takes B's first group; a click
# on B's second group, then Enter, takes that one.
keys c
wait_for '^ Compare  #0' 5
b0=$(col B "$rb"); b1=$(col B "$((rb + 1))")
if [ -n "$b1" ] && click 60 2 && keys Enter && wait_for 'on side B' 3 && path_is "$b0" &&
   keys c && wait_for '^ Compare  #0' 5 && click 60 "$((rb + 1))" && keys Enter && wait_for 'on side B' 3 &&
   path_is "$b1"; then
    ok tui_compare_click_side
else
    fail tui_compare_click_side "$(why "clicks in B's column ('$b0', '$b1')")"
fi
# The stats panel of a sample names its side: a click on that row goes to the side's label.
r=$(screen | grep -anE '│side +B: cold' | head -n 1 | cut -d: -f1)
if [ -n "$r" ] && click 60 "$((r - 1))" && wait_for 'node +#[0-9]+ compare B: cold' 3; then
    ok tui_stats_click_side
else
    fail tui_stats_click_side "$(why 'a click on the side row of the stats panel')"
fi
# The wheel over A's list scrolls it (3 groups a notch) and back.
keys c
wait_for '^ Compare  #0' 5
if col_is A "$ra" "$t0" && x10 65 20 "$((ra + 4))" && col_is A "$ra" "$t3" &&
   x10 64 20 "$((ra + 4))" && col_is A "$ra" "$t0"; then
    ok tui_compare_wheel
else
    fail tui_compare_wheel "$(why "the wheel over A's groups (first row '$(col A "$ra")', want '$t3')")"
fi
keys Escape q
wait_exit 5
