#!/bin/sh
# tests: 3
# Search in tmux: "/" opens an empty query each time (the earlier ones come back with Up),
# the status line shows the hit's place among all hits ("2/4"), n and N step with it.
. tests/lib.sh
NAMES="search_count search_fresh_query search_history"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/s.json"
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 2, "max_tokens": 8},
 "root": 0, "cursor": 0,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "A story", "children": [1, 2, 3]},
  {"id": 1, "parent": 0, "origin": "model", "text": " of love", "children": [4]},
  {"id": 2, "parent": 0, "origin": "model", "text": " of a dog", "children": [5]},
  {"id": 3, "parent": 0, "origin": "model", "text": " of LOVE lost", "children": []},
  {"id": 4, "parent": 1, "origin": "model", "text": " and a dog", "children": []},
  {"id": 5, "parent": 2, "origin": "model", "text": " who loved", "children": [6]},
  {"id": 6, "parent": 5, "origin": "model", "text": " lovely days", "children": []}
 ]}
JSON
tui_start 100 30 "$S"
wait_for 'Tree +7 nodes' 10
# Hits for "love" in pre-order: #1, #5, #6, #3.
keys /
keys -l love
keys Enter
if wait_for '/love  1/4' 3 && wait_for 'node +#1 model' 3 &&
   keys n && wait_for '/love  2/4' 3 && wait_for 'node +#5 model' 3 &&
   keys n && keys n && wait_for '/love  4/4' 3 && wait_for 'node +#3 model' 3 &&
   keys n && wait_for '/love  1/4' 3 && wait_for 'node +#1 model' 3 &&
   keys N && wait_for '/love  4/4' 3 && wait_for 'node +#3 model' 3; then
    ok tui_search_count
else
    fail tui_search_count "$(why 'hit counts while stepping')"
fi

# A new "/" starts empty: typing "dog" searches "dog", not "lovedog".
keys /
prompt=$(screen | tail -1 | sed 's/ *$//')
keys -l dog
keys Enter
if [ "$prompt" = "/" ] && wait_for '/dog  1/2' 3 && wait_for 'node +#4 model' 3 &&
   ! screen | grep -q 'not found'; then
    ok tui_search_fresh_query
else
    fail tui_search_fresh_query "$(why "prompt line was '$prompt'")"
fi

# Up in the prompt recalls the earlier query, Up again the one before; Down comes back.
keys /
keys Up
l1=$(screen | tail -1 | sed 's/ *$//')
keys Up
l2=$(screen | tail -1 | sed 's/ *$//')
keys Down
l3=$(screen | tail -1 | sed 's/ *$//')
keys Up
keys Enter
if [ "$l1" = "/dog" ] && [ "$l2" = "/love" ] && [ "$l3" = "/dog" ] &&
   wait_for '/love  ./4' 3; then
    ok tui_search_history
else
    fail tui_search_history "$(why "Up showed '$l1', then '$l2', Down '$l3'")"
fi
keys q
wait_exit 5
