#!/bin/sh
# tests: 19
# termloom compare against the test server over real HTTP on 127.0.0.1: "base" answers with
# varied text, "tuned;same=1" answers one text every time (a collapsed model).  B must show
# one group and 0 bits; A many groups.
. "$(dirname "$0")/../lib.sh"

"$TOOLS/testserver" --lifetime 30 --idle 10 > "$TMP/port" 2>"$TMP/server.err" &
SERVER=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(head -1 "$TMP/port")
if [ -z "$PORT" ]; then
    fail compare_server_started "the test server printed no port"
    kill "$SERVER" 2>/dev/null
    exit 0
fi
URL="http://127.0.0.1:$PORT/v1"

expect_exit compare_server_runs 0 env TERMLOOM_API_KEY=sk-compare-secret "$T" compare --a "backend=openai,base_url=$URL,model=base" \
    --b "backend=openai,base_url=$URL,model=tuned;same=1" --prompt 'Hello' -n 16 --max-tokens 6 \
    --json -o "$TMP/cmp.json"
# The JSON of side B: groups 1, entropy 0.
b=$(sed -n '/^  "b": {/,/^  }/p' "$TMP/out")
a=$(sed -n '/^  "a": {/,/^  }/p' "$TMP/out")
check compare_server_collapsed_one_group sh -c "printf '%s\n' \"\$1\" | grep -q '^    \"groups\": 1,'" _ "$b"
check compare_server_collapsed_zero_entropy sh -c "printf '%s\n' \"\$1\" | grep -Eq '^    \"entropy\": 0(\.0)?,'" _ "$b"
check compare_server_collapsed_norm_zero sh -c "printf '%s\n' \"\$1\" | grep -Eq '^    \"entropy_norm\": 0(\.0)?,'" _ "$b"
ga=$(printf '%s\n' "$a" | sed -n 's/^    "groups": \([0-9]*\),/\1/p')
check compare_server_base_is_diverse test "${ga:-0}" -ge 8
check compare_server_samples sh -c "printf '%s\n' \"\$1\" | grep -q '^    \"samples\": 16,'" _ "$b"
check compare_server_session_has_model grep -q 'tuned;same=1' "$TMP/cmp.json"
check compare_server_no_key_in_session sh -c "! grep -q 'sk-compare-secret' '$TMP/cmp.json'"

# A server that is not there: one error line naming the side, exit 1.
expect_exit compare_server_down 1 "$T" compare --a "backend=openai,base_url=http://127.0.0.1:9/v1,model=x" \
    --b "backend=openai,base_url=$URL,model=base" --prompt 'Hello' -n 2 --max-tokens 2
one_line_error compare_server_down_message "^termloom: A: no sample was completed"

# A failed sample is tried once more: B's first request dies mid-stream, its 4 samples are
# asked again and come back; nothing is missing, nothing is reported.
expect_exit compare_server_retry_recovers 0 "$T" compare --a "backend=openai,base_url=$URL,model=base" \
    --b "backend=openai,base_url=$URL,model=tuned;fault=midstream:1" --prompt 'Hello' -n 4 --max-tokens 6 --json
b=$(sed -n '/^  "b": {/,/^  }/p' "$TMP/out")
check compare_server_retry_all_samples sh -c "printf '%s\n' \"\$1\" | grep -q '^    \"samples\": 4,' &&
    printf '%s\n' \"\$1\" | grep -q '^    \"failed\": \[\],'" _ "$b"
check compare_server_retry_silent [ ! -s "$TMP/err" ]
# What fails twice is left out and named: which sample, and why (text, --json, saved).
expect_exit compare_server_failed_twice 0 "$T" compare --a "backend=openai,base_url=$URL,model=base" \
    --b "backend=openai,base_url=$URL,model=tuned;fault=resetmid:3" --prompt 'Hello' -n 4 --max-tokens 6 \
    --json -o "$TMP/cmp2.json"
check compare_server_failed_twice_warned sh -c "[ \"\$(grep -c 'B: sample [0-9] of 4 failed twice and is left out: the connection was lost' '$TMP/err')\" = 2 ]"
b=$(sed -n '/^  "b": {/,/^  }/p' "$TMP/out")
check compare_server_failed_twice_json sh -c "printf '%s\n' \"\$1\" | grep -q '^    \"samples\": 2,' &&
    printf '%s\n' \"\$1\" | grep -c '\"index\":' | grep -qx 2" _ "$b"
check compare_server_failed_twice_saved grep -q '"failed":\[{"index":' "$TMP/cmp2.json"

# Each side's token entropy is an interval: with V from the server (llama.cpp's /v1/models)
# both ends; without V the lower end only, said so.
"$TOOLS/testserver" --lifetime 30 --idle 10 --n-vocab 5000 > "$TMP/port2" 2>"$TMP/server.err" &
i=0
while [ ! -s "$TMP/port2" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
P2=$(head -1 "$TMP/port2")
"$T" compare --a "backend=llamacpp,base_url=http://127.0.0.1:$P2" --b "backend=openai,base_url=$URL,model=m" \
    --prompt 'Hi' -n 4 --max-tokens 6 --json > "$TMP/iv.json" 2> "$TMP/err"
check compare_server_entropy_interval sh -c "grep -Eq '\"token_entropy_upper\": [0-9]' '$TMP/iv.json' && grep -q '\"token_entropy_upper\": null' '$TMP/iv.json'"
"$T" compare --a "backend=llamacpp,base_url=http://127.0.0.1:$P2" --b "backend=openai,base_url=$URL,model=m" \
    --prompt 'Hi' -n 4 --max-tokens 6 > "$TMP/iv.txt" 2> "$TMP/err"
check compare_server_entropy_interval_text sh -c "grep -Eq 'token entropy +[0-9.]+-[0-9.]+ bits/token \(bounds\) +>= [0-9.]+ bits/token \(lower bound' '$TMP/iv.txt'"

kill "$SERVER" 2>/dev/null
wait "$SERVER" 2>/dev/null
exit 0
