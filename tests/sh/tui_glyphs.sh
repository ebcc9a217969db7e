#!/bin/sh
# tests: 3
# What the screen claims: the entropy bar on tree rows is explained on the help screen's
# first page, even at 80x24; a server's top-k list that sums to 1 (llama.cpp) is never
# called "(exact)", the model's own figure is.
. tests/lib.sh
NAMES="help_explains_entropy_bar tokens_topk_not_exact tokens_model_exact"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/g.json"
# Node 1: alternatives covering all the mass, as llama.cpp's probabilities after sampling
# give them; node 2: the same with the model's own entropy, as the builtin model records it.
TOK='{"text":" llama","logprob":-0.6931472,"top":[{"text":" llama","logprob":-0.6931472},{"text":" b","logprob":-0.6931472}]}'
TOKX='{"text":" builtin","logprob":-0.6931472,"entropy":1.0,"top":[{"text":" builtin","logprob":-0.6931472},{"text":" b","logprob":-0.6931472}]}'
cat > "$S" <<JSON
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 2, "max_tokens": 8},
 "root": 0, "cursor": 1,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Q", "children": [1, 2]},
  {"id": 1, "parent": 0, "origin": "model", "text": " llama", "model": "llama", "tokens": [$TOK], "children": []},
  {"id": 2, "parent": 0, "origin": "model", "text": " builtin", "model": "builtin", "tokens": [$TOKX], "children": []}
 ]}
JSON
tui_start 80 24 "$S"
wait_for 'Tree +3 nodes' 10
keys '?'
wait_for 'termloom keys' 3
if screen | grep -q '▁▂▃▄▅▆▇█  the bar before each node: how unsure the model was' &&
   screen | grep -q 'a step per 0.5 bit: ▁ under 0.5 bit (sure)' &&
   screen | grep -q 'to █ 3.5 bits or more (unsure)'; then
    ok tui_help_explains_entropy_bar
else
    fail tui_help_explains_entropy_bar "$(why 'no explanation of the bar on the first help page')"
fi
keys q
wait_gone 'termloom keys' 3
if wait_for '^Q llama' 3 && wait_for 'entropy .*1\.00 bits.*\(top-k only\)' 3 && ! screen | grep -q '(exact)'; then
    ok tui_tokens_topk_not_exact
else
    fail tui_tokens_topk_not_exact "$(why 'a complete top-k list shown as exact')"
fi
keys j
if wait_for '^Q builtin' 3 && wait_for 'entropy 1\.00 bits \(exact\)' 3; then
    ok tui_tokens_model_exact
else
    fail tui_tokens_model_exact "$(why "the model's own figure not shown as exact")"
fi
keys q
wait_exit 5
