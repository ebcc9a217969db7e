#!/bin/sh
# tests: 14
# Calibration (core/calib) and bootstrap intervals (core/stat) through the real binary: the
# test server reporting its first-token distribution exactly and sampling it honestly
# (";calib=honest") or at temperature 0.5 (";calib=cold", a server that samples otherwise
# than it reports); compare's intervals and differences on the builtin model.
. "$(dirname "$0")/../lib.sh"

rm -f "$TMP/port"
"$TOOLS/testserver" --lifetime 60 --idle 20 > "$TMP/port" 2>/dev/null &
SERVER=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
URL="http://127.0.0.1:$(head -1 "$TMP/port")/v1"

# gen NAME MODE: 48 children of the root, 3 tokens each, 5 alternatives
gen() {
    "$T" gen --backend openai --base-url "$URL" --model "m;calib=$2" -n 48 --depth 1 --max-tokens 3 \
        --logprobs 5 --seed 11 --prompt 'Once' -o "$TMP/$1.json" 2>/dev/null
}
gen honest honest
gen cold cold
"$T" stats --json "$TMP/honest.json" > "$TMP/honest.stats"
"$T" stats --json "$TMP/cold.json" > "$TMP/cold.stats"
check calib_honest_server_not_flagged sh -c "tr -d ' \n' < '$TMP/honest.stats' | grep -q '\"calibration\":\[{\"node\":0,\"samples\":48,[^]]*\"flag\":false'"
check calib_cold_server_flagged sh -c "tr -d ' \n' < '$TMP/cold.stats' | grep -q '\"calibration\":\[{\"node\":0,\"samples\":48,[^]]*\"flag\":true'"
check calib_cold_server_reason grep -q '"reason": "the server samples otherwise than it reports"' "$TMP/cold.stats"
# the cold server's p-value is tiny, the honest one's is not
pv() { tr -d ' \n' < "$1" | grep -o '"calibration":\[{[^]]*' | grep -o '"p_value":[0-9.e+-]*' | head -1 | cut -d: -f2; }
check calib_p_values_apart awk -v h="$(pv "$TMP/honest.stats")" -v c="$(pv "$TMP/cold.stats")" 'BEGIN { exit !(h > 0.01 && c < 0.001) }'
"$T" stats "$TMP/cold.json" > "$TMP/cold.txt"
check calib_stats_text_table sh -c "grep -A2 '^calibration' '$TMP/cold.txt' | grep -Eq '^  0 +48 .* yes '"
"$T" export --format jsonl "$TMP/cold.json" -o "$TMP/cold.jsonl" 2>/dev/null
check calib_jsonl_node_line sh -c "head -1 '$TMP/cold.jsonl' | grep -q '\"calibration\": *{\"node\": *0, *\"samples\": *48.*\"flag\": *true'"
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null

# compare: each side's intervals, the difference's, calibration per side (B at temperature
# 0.2 does not follow the probabilities the builtin reports, A at 1.0 does).
run_cmp() { "$T" compare --a 'temperature=1.0' --b 'temperature=0.2' --prompt 'The' -n 24 --max-tokens 6 --seed 7 "$@"; }
run_cmp --json > "$TMP/c1.json" 2>/dev/null
run_cmp --json > "$TMP/c2.json" 2>/dev/null
check calib_compare_ci_keys sh -c "tr -d ' \n' < '$TMP/c1.json' | grep -q '\"token_entropy_ci\":{\"value\":[0-9.]*,\"low\":[0-9.]*,\"high\":[0-9.]*}'"
check calib_compare_differences sh -c "tr -d ' \n' < '$TMP/c1.json' | grep -q '\"differences\":{\"groups_ci\":{\"value\":[0-9.-]*,\"low\":[0-9.-]*,\"high\":[0-9.-]*,\"outside\":true}'"
# (sample ids follow arrival order; the intervals follow the samples only)
cis() { tr -d ' \n' < "$1" | grep -o '"[a-z_0-9]*_ci":{[^}]*}'; }
cis "$TMP/c1.json" > "$TMP/ci1"; cis "$TMP/c2.json" > "$TMP/ci2"
check calib_compare_intervals_deterministic sh -c "test \$(wc -l < '$TMP/ci1') -eq 18 && cmp -s '$TMP/ci1' '$TMP/ci2'"
check calib_compare_sides sh -c "tr -d ' \n' < '$TMP/c1.json' | grep -o '\"calibration\":{[^}]*' | grep -o '\"flag\":[a-z]*' | tr '\n' ' ' | grep -q '^\"flag\":false \"flag\":true \$'"
run_cmp > "$TMP/c.txt" 2>/dev/null
check calib_compare_text_difference grep -Eq '^  groups +\+[0-9.]+ \[\+[0-9.]+.+\] differs$' "$TMP/c.txt"
# stats: the tree-wide means with their intervals
check calib_stats_tree_intervals sh -c "tr -d ' \n' < '$TMP/cold.stats' | grep -q '\"mean_token_entropy_ci\":{\"value\":[0-9.]*,\"low\":[0-9.]*,\"high\":[0-9.]*}.*\"mean_bits_ci\":{'"

# The stats panel: a calib line for the cursor node when it qualifies (the root), none on a leaf.
if ! command -v tmux >/dev/null 2>&1; then
    skip calib_tui_stats_line "tmux is not installed"
    skip calib_tui_leaf_no_line "tmux is not installed"
    exit 0
fi
. "$(dirname "$0")/tui_common.inc"
cp "$TMP/cold.json" "$TMP/tui.json"
tui_start 160 45 "$TMP/tui.json"
if wait_for 'calib +48 samples, TV [0-9.]+, p [0-9.e+-]+' 10 && wait_for 'FLAGGED: not as reported' 3; then
    ok calib_tui_stats_line
else
    fail calib_tui_stats_line "no calib line for the root: $(screen | grep -E 'branch|calib' | tr '\n' '|')"
fi
keys Right
if wait_for 'node +#1 model' 5 && ! screen | grep -q 'calib '; then
    ok calib_tui_leaf_no_line
else
    fail calib_tui_leaf_no_line "a leaf shows a calib line or the cursor did not move"
fi
