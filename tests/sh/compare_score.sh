#!/bin/sh
# tests: 21
# termloom compare scoring each side's samples under the other side's server (teacher
# forcing over HTTP): the test server's ";dist=p|q" models draw every token independently
# from a known distribution over " a" " b" " c" " d", and answer echo / prompt_logprobs
# under it.  The exact per-token KL then has a value computed here by hand, and the
# Monte Carlo estimate one computed here from the samples themselves.
. "$(dirname "$0")/../lib.sh"

"$TOOLS/testserver" --lifetime 60 --idle 20 --log "$TMP/server.log" > "$TMP/port" 2>"$TMP/server.err" &
SERVER=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$TMP/port")
if [ -z "$PORT" ]; then
    fail compare_score_started "the test server printed no port"
    kill "$SERVER" 2>/dev/null
    exit 0
fi
URL="http://127.0.0.1:$PORT/v1"
P="backend=openai,base_url=$URL,logprobs=5,seed=7"

# side_field FILE SIDE FIELD: a number of kl_to_other in side a or b of compare --json
side_field() {
    sed -n "/^  \"$2\": {/,/^  }/p" "$1" | sed -n '/"kl_to_other": {/,/}/p' |
        sed -n "s/^ *\"$3\": \([^,]*\),\{0,1\}$/\1/p" | head -1
}
# near X Y: |X - Y| < 1e-4
near() { awk -v x="$1" -v y="$2" 'BEGIN { d = x - y; if (x == "" || y == "") exit 1; exit !(d < 1e-4 && d > -1e-4) }'; }

expect_exit compare_score_runs 0 "$T" compare --a "$P,model=m;dist=p" --b "$P,model=m;dist=q" \
    --prompt 'Hello' -n 16 --max-tokens 5 --json -o "$TMP/cmp.json"
cp "$TMP/out" "$TMP/cmp.out"
# KL(q || p) and KL(p || q) per token, by hand from the two distributions.
kl_qp=$(awk 'BEGIN { split("0.4 0.3 0.2 0.1", p); split("0.7 0.1 0.1 0.1", q);
                     for (i = 1; i <= 4; i++) s += q[i] * log(q[i] / p[i]); printf "%.6f", s }')
kl_pq=$(awk 'BEGIN { split("0.4 0.3 0.2 0.1", p); split("0.7 0.1 0.1 0.1", q);
                     for (i = 1; i <= 4; i++) s += p[i] * log(p[i] / q[i]); printf "%.6f", s }')
check compare_score_exact_b near "$(side_field "$TMP/cmp.out" b exact)" "$kl_qp"
check compare_score_exact_a near "$(side_field "$TMP/cmp.out" a exact)" "$kl_pq"
# The Monte Carlo estimate: each of B's samples' mean of log q(w) - log p(w) over its
# words, averaged over the samples (read back from the saved session).
mc_b=$("$TOOLS/session_info" "$TMP/cmp.json" --side-texts | awk '
    BEGIN { p["a"] = 0.4; p["b"] = 0.3; p["c"] = 0.2; p["d"] = 0.1; q["a"] = 0.7; q["b"] = q["c"] = q["d"] = 0.1 }
    $1 == "B" { s = 0; for (i = 2; i <= NF; i++) s += log(q[$i] / p[$i]); t += s / (NF - 1); n++ }
    END { if (n == 16) printf "%.6f", t / n }')
check compare_score_monte_carlo_b near "$(side_field "$TMP/cmp.out" b value)" "$mc_b"
lo=$(side_field "$TMP/cmp.out" b low)
hi=$(side_field "$TMP/cmp.out" b high)
check compare_score_interval awk -v l="$lo" -v h="$hi" -v v="$mc_b" 'BEGIN { exit !(l != "" && l < v && v < h) }'
check compare_score_used_echo grep -q '"echo":true,"logprobs":5,"max_tokens":0' "$TMP/server.log"

# Text output says which figure is which.
expect_exit compare_score_text 0 "$T" compare --a "$P,model=m;dist=p" --b "$P,model=m;dist=q" \
    --prompt 'Hello' -n 8 --max-tokens 4
check compare_score_text_lines sh -c "grep -Eq '^B: KL to the other side: [-0-9.]+ nats/token \(95% [-0-9.]+–[0-9.]+, Monte Carlo over 8 samples\), exact per-position [0-9.]+$' '$TMP/out'"

# Two alternatives per position are not the whole distribution: no exact figure, said so.
expect_exit compare_score_truncated 0 "$T" compare --a "$P,model=m;dist=p,logprobs=2" --b "$P,model=m;dist=q,logprobs=2" \
    --prompt 'Hello' -n 8 --max-tokens 4 --json
v=$(side_field "$TMP/out" b value)
check compare_score_truncated_no_exact sh -c "sed -n '/^  \"b\": {/,/^  }/p' '$TMP/out' | grep -q '\"exact\": null,' &&
    sed -n '/^  \"b\": {/,/^  }/p' '$TMP/out' | grep -q '\"exact_known\": false,' && [ -n '$v' ]"

# A server that refuses echo (400) is asked in vLLM's own form, prompt_logprobs: same KL.
: > "$TMP/server.log"
expect_exit compare_score_prompt_logprobs 0 "$T" compare --a "$P,model=m;dist=p;noecho=1" \
    --b "$P,model=m;dist=q" --prompt 'Hello' -n 8 --max-tokens 4 --json
check compare_score_prompt_logprobs_value near "$(side_field "$TMP/out" b exact)" "$kl_qp"
check compare_score_prompt_logprobs_sent grep -q '"prompt_logprobs":5' "$TMP/server.log"

# llama.cpp's server cannot score given text: one line says so, the rest of compare stands.
expect_exit compare_score_llamacpp 0 "$T" compare --a "backend=llamacpp,base_url=$URL,seed=7" \
    --b "$P,model=m;dist=q" --prompt 'Hello' -n 4 --max-tokens 4
check compare_score_llamacpp_line sh -c "[ \"\$(grep -Fc 'llama.cpp' '$TMP/out')\" = 1 ] &&
    grep -q '^B: no KL to the other side: A: llama.cpp.s server cannot score given text' '$TMP/out'"

# The same behind backend=openai: llama.cpp's /v1/completions refuses echo (its captured
# 500 "Unsupported param: echo"): one line names it.
expect_exit compare_score_llamacpp_openai 0 "$T" compare --a "$P,model=m;dist=p;noecho=llamacpp" \
    --b "$P,model=m;dist=q" --prompt 'Hello' -n 4 --max-tokens 4
check compare_score_llamacpp_openai_line sh -c "[ \"\$(grep -Fc 'llama.cpp' '$TMP/out')\" = 1 ] &&
    grep -q '^B: no KL to the other side: llama.cpp.s server cannot score given text (it refused echo: 500: .*Unsupported param: echo' '$TMP/out'"

# A 503 to a scoring request is tried again (as generation is): nothing is left out.
expect_exit compare_score_retry 0 "$T" compare --a "$P,model=m;dist=p;scorebad=503" --b "$P,model=m;dist=q" \
    --prompt 'Hello' -n 4 --max-tokens 4 --json
check compare_score_retry_all sh -c "[ \"\$(grep -c '\"exact_known\": true' '$TMP/out')\" = 2 ] && ! grep -q 'skipped' '$TMP/out'"

# A scoring answer with no logprobs, or cut in half: one line, no crash, the rest stands.
expect_exit compare_score_malformed 0 "$T" compare --a "$P,model=m;dist=p;scorebad=1" \
    --b "$P,model=m;dist=q;scorebad=2" --prompt 'Hello' -n 4 --max-tokens 4
check compare_score_malformed_lines sh -c "grep -q '^B: no KL to the other side: scoring: the answer holds no logprobs of the given text' '$TMP/out' &&
    grep -q '^A: no KL to the other side: scoring: the answer holds no logprobs of the given text' '$TMP/out' &&
    grep -q '^over-represented in B' '$TMP/out'"

kill "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null
exit 0
