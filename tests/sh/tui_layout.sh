#!/bin/sh
# tests: 8
# The layout from 80x24 up: the stats panel is there and never cuts a number (a figure's
# line wraps instead), Z zooms the focused panel, v picks the side panels, the wheel
# scrolls the stats panel, and a click on an attractor row of the stats panel goes there.
. tests/lib.sh
NAMES="layout_80x24_stats layout_wide_uncut layout_narrow_wraps layout_zoom layout_side_panels
layout_stats_wheel stats_click_attractor stats_click_member"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc

# #4 has 11 tokens of logprob -6.26: "logprob -68.86, ppl 523.22"; two attractors.
S="$TMP/l.json"
awk 'BEGIN {
    t = ""
    n = split("and that is all I can say about it , really", w, " ")
    for (i = 1; i <= n; i++)
        t = t (i > 1 ? ", " : "") "{\"text\": \" " w[i] "\", \"logprob\": -6.26, \"top\": [{\"text\": \" " w[i] "\", \"logprob\": -6.26}]}"
    print "{\"format\": \"termloom-session\", \"version\": 1,"
    print " \"settings\": {\"backend\": \"builtin\", \"branches\": 2, \"max_tokens\": 8}, \"root\": 0, \"cursor\": 4, \"nodes\": ["
    print "  {\"id\": 0, \"parent\": null, \"origin\": \"prompt\", \"text\": \"Start\", \"children\": [1, 2, 3]},"
    print "  {\"id\": 1, \"parent\": 0, \"origin\": \"model\", \"text\": \" one path\", \"children\": [4, 7]},"
    print "  {\"id\": 2, \"parent\": 0, \"origin\": \"model\", \"text\": \" second road\", \"children\": [5, 8]},"
    print "  {\"id\": 3, \"parent\": 0, \"origin\": \"model\", \"text\": \" third way\", \"children\": [6, 9]},"
    print "  {\"id\": 4, \"parent\": 1, \"origin\": \"model\", \"text\": \" and that is all I can say about it , really\", \"children\": [], \"tokens\": [" t "]},"
    print "  {\"id\": 5, \"parent\": 2, \"origin\": \"model\", \"text\": \" And that is all I can say about it!\", \"children\": []},"
    print "  {\"id\": 6, \"parent\": 3, \"origin\": \"model\", \"text\": \" and that is all i can say about it\", \"children\": []},"
    print "  {\"id\": 7, \"parent\": 1, \"origin\": \"model\", \"text\": \" Then the cat sat on the warm mat today\", \"children\": []},"
    print "  {\"id\": 8, \"parent\": 2, \"origin\": \"model\", \"text\": \" Later a dog sat on the warm mat again\", \"children\": []},"
    print "  {\"id\": 9, \"parent\": 3, \"origin\": \"model\", \"text\": \" So my friend sat on the warm mat quietly\", \"children\": []}"
    print "]}"
}' > "$S"
cp "$S" "$TMP/l0.json"
cp "$S" "$TMP/l2.json"
sed 's/"cursor": 4/"cursor": 0/' "$S" > "$TMP/l1.json"    # (each run saves its copy)
FIN='finish +open, 11 tokens, logprob -68.86, ppl 523.22'
# stats_rows : the stats panel's rows (from its title to the status line; right of the
# tree's │ when the tree is beside it).
stats_rows() { screen | sed 's/^.*│//' | sed -n '/^ Stats/,$p' | sed '$d'; }
# uncut : no number in the stats panel ends in "…" (the figures are whole or wrapped).
uncut() { ! stats_rows | grep -qE '[0-9-]…|[0-9]\.…'; }
# row PATTERN : the 0-based screen row showing PATTERN.
row() { screen | grep -anE -- "$1" | head -n 1 | cut -d: -f1 | awk '{ print $1 - 1 }'; }

tui_start 80 24 "$S"
wait_for 'Tree +10 nodes' 10
if wait_for "$FIN" 5 && wait_for 'entropy +≥ [0-9.]+ bits \(V unknown\) per token' 3 &&
   wait_for 'attractors 2 \(A next\)' 5 && uncut; then
    ok tui_layout_80x24_stats
else
    fail tui_layout_80x24_stats "$(why 'the stats figures at 80x24')"
fi
# The stats panel has more lines than rows here: the title says so and the wheel scrolls.
r=$(row '^ Stats')
if [ -n "$r" ] && wait_for 'Stats  lines 1-6 of 8' 3 && ! screen | grep -q '◆ phrase, 3 in 3 contexts' &&
   x10 65 10 "$((r + 2))" && wait_for 'Stats  lines 3-8 of 8' 3 && wait_for '◆ 3 in 3 contexts' 3 &&
   screen | grep -q '◆ phrase, 3 in 3 contexts' && x10 64 10 "$((r + 2))" && wait_for 'Stats  lines 1-6 of 8' 3; then
    ok tui_layout_stats_wheel
else
    fail tui_layout_stats_wheel "$(why 'the wheel over the stats panel')"
fi
# Z zooms the focused panel (Tab moves the focus, and the zoom, along); Z again goes back.
keys Tab Tab Tab
keys Z
if wait_for '^ Stats' 3 && [ "$(screen | head -n 1 | cut -c1-6)" = ' Stats' ] && ! screen | grep -q ' Tree  10 nodes' &&
   screen | grep -q '◆ phrase, 3 in 3 contexts' && screen | grep -q '◆ 3 in 3 contexts' && uncut &&
   keys Tab && wait_for '^ Tree  10 nodes' 3 && ! screen | grep -q '^ Stats' &&
   keys Z && wait_for '^ Stats' 3 && screen | grep -q '^ Tree  10 nodes' && screen | grep -q '^ Tokens'; then
    ok tui_layout_zoom
else
    fail tui_layout_zoom "$(why 'Z on the stats panel')"
fi
# v: the stats panel alone (it gets the tokens' rows), then the tokens alone, neither, both.
keys v
if wait_for 'showing the stats panel only' 3 && ! screen | grep -q '^ Tokens' &&
   screen | grep -q '◆ 3 in 3 contexts' && screen | grep -qE "$FIN" &&
   keys v && wait_for '^ Tokens' 3 && ! screen | grep -q '^ Stats' &&
   keys v && wait_gone '^ Tokens' 3 && ! screen | grep -q '^ Stats' &&
   keys v && wait_for '^ Tokens' 3 && screen | grep -q '^ Stats'; then
    ok tui_layout_side_panels
else
    fail tui_layout_side_panels "$(why 'v cycling the side panels')"
fi
keys q
wait_exit 5

# 150 columns: the stats panel is wide enough for every figure on one line.
tui_start 150 30 "$TMP/l0.json"
wait_for 'Tree +10 nodes' 10
if wait_for "$FIN" 5 && wait_for 'attractors 2 \(A next\)' 5 && uncut; then
    ok tui_layout_wide_uncut
else
    fail tui_layout_wide_uncut "$(why 'the stats figures at 150 columns')"
fi
keys q
wait_exit 5

# 40 columns: the finish line wraps after a comma, the numbers whole.
tui_start 40 24 "$TMP/l2.json"
wait_for 'Tree +10 nodes' 10
if wait_for 'finish +open, 11 tokens,' 5 && stats_rows | grep -qE '^ +logprob -68.86, ppl 523.22' && uncut; then
    ok tui_layout_narrow_wraps
else
    fail tui_layout_narrow_wraps "$(why 'the stats figures at 40 columns')"
fi
keys q
wait_exit 5

# A click on an attractor row of the stats panel goes to that attractor; a second click on
# it goes on to its next member (as ] does).
tui_start 120 30 "$TMP/l1.json"
wait_for 'attractors 2 \(A next\)' 10
r=$(row '◆ 3 in 3 contexts')
r2=$(row '◆ phrase, 3 in 3 contexts')
# The rows stay where they were as the cursor moves: the same rows are clicked throughout.
if [ -n "$r" ] && click 60 "$r" && wait_for 'node +#4 model' 3 && wait_for 'attractor 1/2, member 1/3' 3 &&
   click 60 "$r2" && wait_for 'node +#7 model' 3 && wait_for 'attractor 2/2' 3; then
    ok tui_stats_click_attractor
else
    fail tui_stats_click_attractor "$(why "a click on the stats panel's attractor rows (rows $r, $r2)")"
fi
if click 60 "$r2" && wait_for 'node +#8 model' 3 && wait_for 'attractor 2/2, member 2/3' 3 &&
   click 60 "$r2" && wait_for 'node +#9 model' 3 && click 60 "$r" && wait_for 'node +#4 model' 3; then
    ok tui_stats_click_member
else
    fail tui_stats_click_member "$(why 'a second click on the current attractor row')"
fi
keys q
wait_exit 5
