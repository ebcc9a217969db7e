#!/bin/sh
# tests: 28
# termloom compare with the builtin model: the same corpus at temperature 1.0 (A) and 0.2 (B).
# A colder sampler repeats itself: B must show fewer groups and lower entropy.
. "$(dirname "$0")/../lib.sh"

expect_exit compare_builtin_runs 0 "$T" compare --a 'temperature=1.0' --b 'temperature=0.2' \
    --prompt 'The' -n 32 --max-tokens 8 --seed 7
cp "$TMP/out" "$TMP/table"
# The text table: "groups  A  B", "entropy  Xa bits (..) Xb bits (..)".
row() { awk -v k="$1" -v f="$2" '$1 == k { print $f; exit }' "$TMP/table"; }
ga=$(row groups 2); gb=$(row groups 3); ea=$(row entropy 2); eb=$(row entropy 7)
check compare_builtin_samples test "$(row samples 2) $(row samples 3)" = "32 32"
check compare_builtin_fewer_groups_when_cold test "${gb:-99}" -lt "${ga:-0}"
check compare_builtin_lower_entropy_when_cold awk -v a="${ea:-0}" -v b="${eb:-99}" 'BEGIN { exit !(b < a) }'
check compare_builtin_token_entropy_exact grep -q 'bits/token (exact)' "$TMP/table"

# --json: the same figures, and -o keeps every sample in a session.
expect_exit compare_builtin_json 0 "$T" compare --a 'temperature=1.0' --b 'temperature=0.2' \
    --prompt 'The' -n 32 --max-tokens 8 --seed 7 --json -o "$TMP/cmp.json"
# The loop only gathers what is missing, so the test reports once either way.
missing=
for k in '"a"' '"b"' '"config"' '"samples": 32' '"groups"' '"entropy"' '"entropy_norm"' \
         '"token_entropy"' '"distinct_1"' '"distinct_2"' '"distinct_3"' '"top"' '"shared_outcomes"' \
         '"repeated"' '"overrepresented"' '"name": "base"'; do
    grep -q "$k" "$TMP/out" || missing="$missing $k"
done
if [ -z "$missing" ]; then ok compare_builtin_json_keys; else fail compare_builtin_json_keys "no$missing"; fi
# Same seed, same figures: the JSON groups agree with the table.
jg=$(grep -o '"groups": [0-9]*' "$TMP/out" | awk '{ print $2 }' | tr '\n' ' ')
check compare_builtin_json_matches_table test "$jg" = "$ga $gb "
check compare_builtin_session_saved test -s "$TMP/cmp.json"
check compare_builtin_session_labels grep -Eq '"compare": ?"B"' "$TMP/cmp.json"
# 1 prompt + 2 labels + 64 samples.
n=$(grep -Eo '"origin": ?"model"' "$TMP/cmp.json" | wc -l)
check compare_builtin_session_keeps_samples test "$n" -eq 64

# Divergence (issue 16): both sides builtin, each side's own samples scored by the other
# model.  The model card gives KL(tuned||base) ~ 2.1 and KL(rl||base) ~ 0.5 nats/token.
klb() { tr -d '\n ' < "$1" | sed 's/.*"b":{//' | grep -o '"kl_to_other":{"value":[0-9.e+-]*' | sed 's/.*://'; }
expect_exit compare_builtin_kl_tuned 0 "$T" compare --a model=base --b model=tuned --prompt 'ROMEO:' \
    -n 16 --max-tokens 32 --seed 1 --json
cp "$TMP/out" "$TMP/kl_tuned"
expect_exit compare_builtin_kl_rl 0 "$T" compare --a model=base --b model=rl --prompt 'ROMEO:' \
    -n 16 --max-tokens 32 --seed 1 --json
kt=$(klb "$TMP/kl_tuned"); kr=$(klb "$TMP/out")
check compare_builtin_kl_tuned_in_range awk -v k="${kt:-0}" 'BEGIN { exit !(k >= 1.0 && k <= 3.5) }'
check compare_builtin_kl_tuned_above_rl awk -v t="${kt:-0}" -v r="${kr:-99}" 'BEGIN { exit !(r > 0 && t > r) }'

# Over-represented words (log-odds with a Dirichlet prior): the rl copy is collapsed onto
# "love", so against base its most over-represented word is a love-word, counted on both sides.
expect_exit compare_builtin_rl_runs 0 "$T" compare --a model=base --b model=rl --prompt 'ROMEO:' \
    -n 32 --max-tokens 32 --seed 1
cp "$TMP/out" "$TMP/rl"
# "over-represented in B (rl): love (z 7.5, 145 vs 3), ..." (the numbers are what the run gives)
top=$(sed -n 's/^over-represented in B (rl): \([^ ]*\) (z \([0-9.]*\), \([0-9]*\) vs \([0-9]*\)).*/\1 \2 \3 \4/p' "$TMP/rl")
set -- $top
check compare_builtin_rl_love_on_top sh -c 'case "$1" in love*) exit 0;; esac; exit 1' _ "${1:-none}"
check compare_builtin_rl_love_significant awk -v z="${2:-0}" -v a="${3:-0}" -v b="${4:-0}" \
    'BEGIN { exit !(z > 1.96 && a > b) }'
check compare_builtin_rl_names_in_header grep -Eq '^ +A: base +B: rl$' "$TMP/rl"
check compare_builtin_repeated_renamed sh -c "grep -q '^repeated samples only in B (groups of' '$TMP/rl' &&
    ! grep -q 'attractors only' '$TMP/rl'"

# name= names a side; a long name is shown whole, wrapped in its column, never cut.
long='the base model as the card trained it before any tuning'
expect_exit compare_builtin_named_runs 0 "$T" compare --a "model=base,name=$long" --b 'model=rl' \
    --prompt 'ROMEO:' -n 32 --max-tokens 32 --seed 1 --json -o "$TMP/rl.json"
b=$(sed -n '/^  "b": {/,/^  }/p' "$TMP/out")
first=$(printf '%s\n' "$b" | sed -n '/"overrepresented"/,$p' | grep -m1 '"text"')
check compare_builtin_json_overrepresented_love sh -c 'case "$1" in *\"love*) exit 0;; esac; exit 1' _ "$first"
check compare_builtin_name_saved grep -q "\"name\": \?\"$long\"" "$TMP/rl.json"
expect_exit compare_builtin_named_table 0 "$T" compare --a "model=base,name=$long" --b 'model=rl' \
    --prompt 'ROMEO:' -n 2 --max-tokens 4 --seed 1
# the A column holds the name in two lines; nothing above the figures is cut short
words=$(sed -n '3,5p' "$TMP/out" | cut -c15-52 | tr -s ' \n' '  ' | sed 's/^ *//; s/ *$//')
check compare_builtin_long_name_whole sh -c "[ \"\$1\" = \"A: $long backend=builtin model=base\" ] &&
    ! sed -n '1,6p' '$TMP/out' | grep -q '…'" _ "$words"

# stats of the saved comparison reports each side apart, and says the rest pools them;
# jsonl export tells each sample's side.
expect_exit compare_builtin_stats_per_side 0 "$T" stats "$TMP/rl.json"
check compare_builtin_stats_rl_row sh -c "grep -Eq '^  0 +B +32 .* rl +love' '$TMP/out' &&
    grep -q 'holds a comparison' '$TMP/out'"
"$T" export --format jsonl "$TMP/rl.json" -o "$TMP/rl.jsonl" 2>/dev/null
check compare_builtin_jsonl_side sh -c "[ \"\$(grep '\"type\":\"node\"' '$TMP/rl.jsonl' | grep -c '\"side\":\"B\"')\" = 33 ] &&
    [ \"\$(grep '\"type\":\"node\"' '$TMP/rl.jsonl' | grep -c '\"side\":\"A\"')\" = 33 ]"
