#!/bin/sh
# tests: 15
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
         '"token_entropy"' '"distinct_1"' '"distinct_2"' '"distinct_3"' '"top"' '"shared_attractors"'; do
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
