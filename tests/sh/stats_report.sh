#!/bin/sh
# tests: 34
# termloom stats: the figures of a small hand-made session, as text and as JSON.
. "$(dirname "$0")/../lib.sh"

# Root with four children " a" " a" " b" " c" (groups 2,1,1: 1.5 bits, normalized 0.75);
# node 1 has a uniform 4-way token (2 bits), node 2 a truncated top-2 (.5 .25 + .25 left: 1.5 bits).
cat > "$TMP/s.json" <<'EOF'
{"format":"termloom-session","version":1,"settings":{},"root":0,"cursor":0,"nodes":[
{"id":0,"parent":null,"origin":"prompt","text":"Q:","children":[1,2,3,4]},
{"id":1,"parent":0,"origin":"model","text":" a","children":[5],"tokens":[{"text":" a","logprob":-1.3862944,"top":[{"text":" a","logprob":-1.3862944},{"text":" b","logprob":-1.3862944},{"text":" c","logprob":-1.3862944},{"text":" d","logprob":-1.3862944}]}]},
{"id":2,"parent":0,"origin":"model","text":" a","children":[],"tokens":[{"text":" a","logprob":-0.6931472,"top":[{"text":" a","logprob":-0.6931472},{"text":" b","logprob":-1.3862944}]}]},
{"id":3,"parent":0,"origin":"model","text":" b","children":[]},
{"id":4,"parent":0,"origin":"model","text":" c","children":[]},
{"id":5,"parent":1,"origin":"model","text":"!","children":[]}
]}
EOF

expect_exit stats_json_exit 0 "$T" stats --json "$TMP/s.json"
cp "$TMP/out" "$TMP/report.json"
# the JSON report has one key per line: check the figures computed by hand
has() { grep -Eq "^ *\"$1\": $2,?\$" "$TMP/report.json"; }
check stats_json_nodes has nodes 6
check stats_json_depth has depth 2
check stats_json_leaves has leaves 4
check stats_json_tokens has tokens 2
check stats_json_branching_root sh -c "tr -d ' \n' < '$TMP/report.json' | grep -q '\"branching\":\[{\"depth\":0,\"internal_nodes\":1,\"mean_children\":4.0},{\"depth\":1,\"internal_nodes\":1,\"mean_children\":1.0}\]'"
check stats_json_token_entropy has mean_node_entropy_bits 1.75
check stats_json_max_token_entropy has max_token_entropy_bits '2\.0'
check stats_json_leftover has mean_leftover_mass 0.125
check stats_json_perplexity has mean_perplexity '3\.0'
check stats_json_not_exact has exact false
check stats_json_lower_bound has mean_token_entropy_lower 1.75
check stats_json_upper_unknown has mean_token_entropy_upper null
check stats_json_root_branch has root_bits 1.5
check stats_json_root_normalized has root_normalized 0.75
check stats_json_mean_branch has mean_bits 0.75

expect_exit stats_text_exit 0 "$T" stats "$TMP/s.json"
check stats_text_nodes grep -Eq '^nodes +6$' "$TMP/out"
check stats_text_root_bits grep -Eq '^  root bits +1\.500$' "$TMP/out"
check stats_text_says_lower_bound grep -q 'mean token entropy  *≥ 1.75 bits (V unknown)' "$TMP/out"
check stats_text_no_stderr test ! -s "$TMP/err"

# The same session in another layout (all on one line, spaces around colons) gives the
# same report.
tr -d '\n' < "$TMP/s.json" | sed 's/":/" : /g' > "$TMP/flat.json"
expect_exit stats_flat_exit 0 "$T" stats --json "$TMP/flat.json"
grep -v '"file"' "$TMP/out" > "$TMP/a"; grep -v '"file"' "$TMP/report.json" > "$TMP/b"
check stats_flat_same_report cmp -s "$TMP/a" "$TMP/b"

# Alternatives that cover everything (llama.cpp's top-k after its samplers sums to 1): the
# list's figure, but not exact -- only the model's own figure ("entropy", as the builtin
# model records it) is.
cat > "$TMP/exact.json" <<'EOF'
{"format":"termloom-session","version":1,"root":0,"nodes":[
{"id":0,"parent":null,"origin":"prompt","text":"x","children":[],"tokens":[{"text":"a","logprob":-0.6931472,"top":[{"text":"a","logprob":-0.6931472},{"text":"b","logprob":-0.6931472}]}]}
]}
EOF
expect_exit stats_complete_list_exit 0 "$T" stats --json "$TMP/exact.json"
check stats_complete_list_not_exact grep -Eq '"exact": false' "$TMP/out"
check stats_complete_list_bits grep -Eq '"mean_node_entropy_bits": 1\.0,' "$TMP/out"
sed 's/"logprob":-0.6931472,"top"/"logprob":-0.6931472,"entropy":1.0,"top"/' "$TMP/exact.json" > "$TMP/exact2.json"
expect_exit stats_exact_exit 0 "$T" stats --json "$TMP/exact2.json"
check stats_exact_flag grep -Eq '"exact": true' "$TMP/out"
check stats_exact_bits grep -Eq '"mean_node_entropy_bits": 1\.0,' "$TMP/out"

# Nodes made with different settings are pooled only with a word saying so: stats counts the
# distinct "request" records (seed, choice and time aside).
cat > "$TMP/mixed.json" <<'EOF2'
{"format":"termloom-session","version":1,"root":0,"nodes":[
{"id":0,"parent":null,"origin":"prompt","text":"x","children":[1,2,3]},
{"id":1,"parent":0,"origin":"model","text":" a","children":[],"request":{"backend":"llamacpp","temperature":1.0,"max_tokens":8,"seed":11,"choice":0,"time":5}},
{"id":2,"parent":0,"origin":"model","text":" b","children":[],"request":{"backend":"llamacpp","temperature":1.0,"max_tokens":8,"seed":11,"choice":1,"time":5}},
{"id":3,"parent":0,"origin":"model","text":" c","children":[],"request":{"backend":"llamacpp","temperature":0.2,"max_tokens":8,"seed":12,"choice":0,"time":9}}
]}
EOF2
expect_exit stats_settings_mixed_exit 0 "$T" stats --json "$TMP/mixed.json"
check stats_settings_mixed_counted grep -Eq '"distinct": 2,' "$TMP/out"
"$T" stats "$TMP/mixed.json" > "$TMP/mixed.txt" 2>&1
check stats_settings_mixed_said grep -q 'pool nodes made with different settings' "$TMP/mixed.txt"
"$T" gen --prompt "The" -n 2 --depth 1 --seed 1 -o "$TMP/one.json" 2>/dev/null
"$T" stats --json "$TMP/one.json" > "$TMP/one.out" 2>&1
check stats_settings_one_kind grep -Eq '"distinct": 1,' "$TMP/one.out"

# A long member list keeps its column: the ids that fit in 16 columns, then how many more.
{
    printf '{"format":"termloom-session","version":1,"settings":{},"root":0,"cursor":0,"nodes":[\n'
    printf '{"id":0,"parent":null,"origin":"prompt","text":"Q:","children":[1'
    i=2; while [ $i -le 30 ]; do printf ',%d' $i; i=$((i + 1)); done
    printf ']}'
    i=1; while [ $i -le 30 ]; do printf ',\n{"id":%d,"parent":0,"origin":"model","text":" yes","children":[]}' $i; i=$((i + 1)); done
    printf '\n]}\n'
} > "$TMP/g30.json"
"$T" stats "$TMP/g30.json" > "$TMP/g30.out" 2>&1
check stats_text_member_ids_fit_their_column grep -Eq '^  0 +1,2,3,4,5,6,7\+23$' "$TMP/g30.out"
