#!/bin/sh
# tests: 10
# Detected attractors in the TUI: the glyph on member rows, the stats list, A jumps, a
# recurring phrase underlined in the text panel, and a big tree indexed between keys.
. tests/lib.sh
NAMES="attractor_glyph attractor_list_jump phrase_underlined attractors_saved attractors_shared_node_order attractors_prev_wraps attractor_members attractor_labels_distinct attractors_sliced_list attractors_big_tree"
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
cp "$S" "$TMP/a0.json"
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
# s saves the detected attractors beside the tree, apart from the hand marks
keys s
if wait_for 'saved' 5 &&
   grep -q '"attractors":\[{"kind":"continuation","members":\[4,5,6\],"support":3' "$S" &&
   grep -q '{"kind":"phrase","members":\[7,8,9\],"support":3,"score":6.0,"expected":[0-9.e-]*,"p_value":[0-9.e-]*,"text":"sat on the warm mat"}' "$S" &&
   ! grep -q '"marks"' "$S"; then
    ok tui_attractors_saved
else
    fail tui_attractors_saved "$(tail -c 400 "$S")"
fi
keys q
wait_exit 5

# Two phrase attractors start at the same node (#7): A still visits every attractor in list
# order, C-a goes back the same way and wraps, ] and [ step through one attractor's members.
sed -e 's/ today",/ today, far from home, under the old red sky",/' \
    -e 's/ again",/ again; nobody knew why, under the old red sky",/' \
    -e 's/ quietly",/ quietly and we all went under the old red sky",/' "$TMP/a0.json" > "$TMP/a3.json"
tui_start 120 30 "$TMP/a3.json"
wait_for 'attractors 3 \(A next\)' 10
at() { wait_for "attractor $1" 3 && wait_for "node +#$2 model" 3; }
if keys A && at 1/3 4 && keys A && at 2/3 7 && keys A && at 3/3 7 && keys A && at 1/3 4; then
    ok tui_attractors_shared_node_order
else
    fail tui_attractors_shared_node_order "$(why 'A over three attractors, two at #7')"
fi
if keys C-a && at 3/3 7 && keys C-a && at 2/3 7 && keys C-a && at 1/3 4 && keys C-a && at 3/3 7; then
    ok tui_attractors_prev_wraps
else
    fail tui_attractors_prev_wraps "$(why 'C-a backwards, wrapping')"
fi
if keys ']' && at '3/3, member 2/3' 8 && keys ']' && at '3/3, member 3/3' 9 && keys ']' && at '3/3, member 1/3' 7 &&
   keys '[' && at '3/3, member 3/3' 9 && keys A && at 1/3 4 && keys ']' && at '1/3, member 2/3' 5; then
    ok tui_attractor_members
else
    fail tui_attractor_members "$(why '] and [ through the members')"
fi
keys q
wait_exit 5

# Three phrase attractors sharing their first five words, in a narrow stats panel: each is
# cut at a word boundary and no two look alike (the cut goes on to the word that differs).
W="$TMP/w.json"
{
    echo '{"format": "termloom-session", "version": 1, "root": 0, "cursor": 0, "nodes": ['
    echo '{"id": 0, "parent": null, "origin": "prompt", "text": "Once", "children": [1, 2, 3, 4, 5, 6]},'
    i=1
    for ctx in "upon a time" "in a land" "far away" "long ago" "at dawn" "one night"; do
        echo "{\"id\": $i, \"parent\": 0, \"origin\": \"model\", \"text\": \" $ctx\", \"children\": [$((i + 6))]},"
        i=$((i + 1))
    done
    i=7
    for t in "Suddenly X smiled kindly at me." "Then, at last, X smiled kindly upon the crowd." "Nobody knew why X smiled kindly" \
             "Alas X frowned darkly at the king." "In the hall, X frowned darkly, silent." "We saw that X frowned darkly again"; do
        t=$(printf '%s' "$t" | sed 's/X/the great and powerful wizard/')
        echo "{\"id\": $i, \"parent\": $((i - 6)), \"origin\": \"model\", \"text\": \" $t\", \"children\": []}$([ $i -lt 12 ] && echo ,)"
        i=$((i + 1))
    done
    echo ']}'
} > "$W"
# A narrow stats panel (44 columns, shown alone: v) cuts the texts.
tui_start 44 40 "$W"
wait_for 'attractors 3 \(A next\)' 10
keys v
wait_for 'showing the stats panel only' 3
labels=$(screen | sed -n 's/.*◆ phrase, [0-9]* in [0-9]* contexts //p' | sed 's/ *$//')
nl=$(printf '%s\n' "$labels" | grep -c .)
nu=$(printf '%s\n' "$labels" | sort -u | grep -c .)
bad=$(printf '%s\n' "$labels" | grep -vcE '^the( great( and( powerful( wizard)?)?)?)?(…(wizard|smiled|frowned)…?)?$')
if [ "$nl" = 3 ] && [ "$nu" = 3 ] && [ "$bad" = 0 ]; then
    ok tui_attractor_labels_distinct
else
    fail tui_attractor_labels_distinct "$(printf '%s' "$labels" | tr '\n' '|') ($nl rows, $nu distinct, $bad cut inside a word)"
fi
keys q
wait_exit 5

# A list made in many main-loop slices (one unit a turn, forced here): the same list,
# glyphs and underlines, and a deletion after it is listed again.
TUI_PRE="TERMLOOM_ATTR_SLICES=1"
tui_start 120 30 "$TMP/a0.json"
if wait_for 'attractors 2 \(A next\)' 10 && [ "$(screen | grep -c '◆ ')" -ge 4 ] &&
   keys Right Right Down && wait_for 'node +#7 model' 3 && sleep 0.5 &&
   tm capture-pane -e -p -t 0 | grep -q "$(printf '\033')\[4msat on the warm mat" &&
   keys d && wait_for 'Delete' 3 && keys y &&
   wait_for 'Tree +9 nodes' 5 && wait_for 'attractors 1 \(A next\)' 10; then
    ok tui_attractors_sliced_list
else
    fail tui_attractors_sliced_list "$(why 'the list made in slices')"
fi
keys q
wait_exit 5
TUI_PRE=

# A 120,000-node tree (six children per node; every 40th text is one of three answers) is
# indexed in slices between keys: the cursor moves at once, the attractors arrive after.
B="$TMP/big.json"
awk 'BEGIN {
    n = 120000; srand(3)
    a[0] = " I cannot help with that."; a[1] = " The answer is 42."; a[2] = " Thank you for asking!"
    print "{\"format\": \"termloom-session\", \"version\": 1, \"root\": 0, \"cursor\": 0, \"nodes\": ["
    for (i = 0; i < n; i++) {
        if (i == 0) { t = "Tell me"; o = "prompt"; p = "null" }
        else {
            o = "model"; p = int((i - 1) / 6)
            if (i % 40 == 0) t = a[int(i / 40) % 3]
            else { t = ""; k = 5 + int(rand() * 10); for (j = 0; j < k; j++) t = t " w" int(rand() * 5000) }
        }
        c = ""
        for (j = 6 * i + 1; j <= 6 * i + 6 && j < n; j++) c = c (c == "" ? "" : ", ") j
        printf "{\"id\": %d, \"parent\": %s, \"origin\": \"%s\", \"text\": \"%s\", \"children\": [%s]}%s\n", i, p, o, t, c, (i < n - 1 ? "," : "")
    }
    print "]}"
}' > "$B"
tui_start 140 40 "$B"
if wait_for 'Tree +120000 nodes' 20 && keys_changed Right && wait_for 'node +#1 model' 5 &&
   wait_for 'attractors 3 \(A next\)' 30 && wait_for '1000 in 1000 contexts +The answer is' 5; then
    ok tui_attractors_big_tree
else
    fail tui_attractors_big_tree "$(why 'a big tree: keys first, attractors after')"
fi
keys q
wait_exit 5
