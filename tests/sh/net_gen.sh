#!/bin/sh
# tests: 87
# The HTTP backends through the real binary: `termloom gen` against tests/tools/testserver on
# 127.0.0.1, one test per fault mode.  Faults are chosen per request through the model name
# ("m;fault=429" = the first such request gets a 429, then requests succeed; ":0" = always).
. "$(dirname "$0")/../lib.sh"

# start_server NAME ARGS... : sets PORT (and SERVER, its pid); the server stops by itself.
start_server() {
    rm -f "$TMP/port"
    log="$TMP/$1.log"; shift
    "$TOOLS/testserver" --lifetime 90 --idle 20 --log "$log" "$@" > "$TMP/port" 2>/dev/null &
    SERVER=$!
    i=0
    while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    PORT=$(head -1 "$TMP/port")
}
stop_server() { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; return 0; }

start_server main
[ -n "$PORT" ] || { fail net_gen_server "the test server printed no port"; exit 0; }
URL="http://127.0.0.1:$PORT/v1"

# gen NAME MODEL [more options] : termloom gen with 4 branches, depth 1, into $TMP/NAME.json
gen() {
    n=$1; m=$2; shift 2
    "$T" gen --backend openai --base-url "$URL" --model "$m" -n 4 --depth 1 --max-tokens 8 \
        --prompt 'Once upon' -o "$TMP/$n.json" "$@"
}
children() { grep -c '"origin":"model"' "$1"; }

expect_exit net_gen_stream 0 gen ok 'm'
check net_gen_stream_four_branches test "$(children "$TMP/ok.json")" = 4
check net_gen_stream_utf8_joined grep -q 'caf\(é\|\\u00e9\)' "$TMP/ok.json"
check net_gen_stream_logprobs grep -q '"logprob":-' "$TMP/ok.json"

expect_exit net_gen_no_stream 0 gen nostream 'm' --no-stream
check net_gen_no_stream_four test "$(children "$TMP/nostream.json")" = 4
check net_gen_no_stream_sent grep -q '"stream":false' "$TMP/main.log"

s=$(date +%s.%N)
expect_exit net_gen_latency 0 gen latency 'm;latency=300'
check net_gen_latency_waited awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN { exit !(e - s >= 0.3) }'

s=$(date +%s.%N)
expect_exit net_gen_429_then_success 0 gen r429 'm;fault=429'
check net_gen_429_waited_retry_after awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN { exit !(e - s >= 0.95) }'
check net_gen_429_four test "$(children "$TMP/r429.json")" = 4

expect_exit net_gen_500_then_success 0 gen r500 'm;fault=500'
check net_gen_500_four test "$(children "$TMP/r500.json")" = 4

expect_exit net_gen_reset_then_success 0 gen reset 'm;fault=reset'
check net_gen_reset_four test "$(children "$TMP/reset.json")" = 4

expect_exit net_gen_slow_drip 0 gen drip 'm;drip=40'
check net_gen_slow_drip_four test "$(children "$TMP/drip.json")" = 4

# Failures part way: exit 1, one line naming the problem, the tree saved with partial branches.
partial() {
    name=$1; fault=$2; pattern=$3
    expect_exit "net_gen_${name}_exit" 1 gen "$name" "m;fault=$fault:0"
    summary_then_error "net_gen_${name}_message" "$pattern"
    check "net_gen_${name}_summary_counts_failures" grep -q '^termloom gen: 5 nodes, .*, 4 branches failed, saved to' "$TMP/err"
    check "net_gen_${name}_partial_saved" test "$(children "$TMP/$name.json")" = 4
    check "net_gen_${name}_incomplete" test "$(grep -c '"incomplete":true' "$TMP/$name.json")" = 4
}
partial truncated truncate '^termloom: 4 branches failed: 4 under #0: the connection was lost mid-response'
partial midstream midstream 'model overloaded mid-stream'
partial badjson badjson 'malformed JSON'
partial resetmid resetmid 'mid-response'

TERMLOOM_IDLE_TIMEOUT=1 expect_exit net_gen_stall_exit 1 env TERMLOOM_IDLE_TIMEOUT=1 \
    "$T" gen --backend openai --base-url "$URL" --model 'm;fault=stall:0' -n 2 --depth 1 \
    --max-tokens 8 --prompt 'Once' -o "$TMP/stall.json"
summary_then_error net_gen_stall_message 'no data from the server for 1 s \(idle timeout\)'
check net_gen_stall_partial test "$(children "$TMP/stall.json")" = 2

expect_exit net_gen_html_exit 1 gen html 'm;fault=html:0'
summary_then_error net_gen_html_message "unexpected content type 'text/html'"
expect_exit net_gen_huge_exit 1 gen huge 'm;fault=huge:0' --no-stream
summary_then_error net_gen_huge_message 'larger than 32 MiB'
expect_exit net_gen_quota_exit 1 gen quota 'm;fault=quota:0'
summary_then_error net_gen_quota_message '429: quota exhausted \(You exceeded your current quota\)'

expect_exit net_gen_chat 0 "$T" gen --backend openai-chat --base-url "$URL" --model m -n 3 --depth 1 \
    --max-tokens 6 --prompt 'Hi' -o "$TMP/chat.json"
check net_gen_chat_three test "$(children "$TMP/chat.json")" = 3
expect_exit net_gen_llamacpp 0 "$T" gen --backend llamacpp --base-url "http://127.0.0.1:$PORT/" -n 3 \
    --depth 1 --max-tokens 6 --prompt 'Hi' -o "$TMP/native.json"
check net_gen_llamacpp_three test "$(children "$TMP/native.json")" = 3
check net_gen_llamacpp_native_requests test "$(grep -c 'POST /completion ' "$TMP/main.log")" = 3
stop_server

# --strategy entropy expands several leaves at once (--concurrency / k requests in flight):
# requests in flight together need a connection each, so a slow server sees more than one.
start_server conc --latency 400
URL="http://127.0.0.1:$PORT/v1"
expect_exit net_gen_entropy_concurrent 0 "$T" gen --backend openai --base-url "$URL" --model m -n 2 \
    --max-tokens 4 --prompt 'Once' --strategy entropy --budget 9 --concurrency 8 -o "$TMP/conc.json"
check net_gen_entropy_concurrent_requests test "$(grep -c ACCEPT "$TMP/conc.log")" -ge 2
check net_gen_entropy_concurrent_budget test "$(children "$TMP/conc.json")" = 8
stop_server

# The key: sent as a Bearer header, refused with the server's words, never in stderr or the file.
start_server key --key sk-the-right-one
URL="http://127.0.0.1:$PORT/v1"
TERMLOOM_API_KEY=sk-wrong-4711-secret
export TERMLOOM_API_KEY
expect_exit net_gen_401_exit 1 gen k401 'm'
summary_then_error net_gen_401_message '401: the API key was refused \(Incorrect API key provided\)'
check net_gen_401_not_retried test "$(grep -c POST "$TMP/key.log")" = 1
expect_exit net_gen_key_echoed_exit 1 gen echo 'm;fault=echokey:0'
check net_gen_key_not_in_stderr sh -c "! grep -q 'sk-wrong-4711-secret' '$TMP/err'"
check net_gen_key_not_in_file sh -c "! grep -q 'sk-wrong-4711-secret' '$TMP/echo.json'"
TERMLOOM_API_KEY=sk-the-right-one
expect_exit net_gen_right_key 0 gen right 'm'
check net_gen_right_key_not_in_file sh -c "! grep -q 'sk-the-right-one' '$TMP/right.json'"
unset TERMLOOM_API_KEY
stop_server

# A server that refuses n (llama.cpp's HTTP 500): k separate requests with distinct seeds.
start_server refuse --refuse-n 500
URL="http://127.0.0.1:$PORT/v1"
expect_exit net_gen_n_refused 0 gen refused 'm' --seed 5
check net_gen_n_refused_four test "$(children "$TMP/refused.json")" = 4
check net_gen_n_refused_requests test "$(grep -c POST "$TMP/refuse.log")" = 5
# The request's seed (a hash of --seed 5 and the parent, recorded on each node) plus the
# branch's index: four consecutive, distinct seeds.
s0=$(grep -o '"seed":[0-9]*,"time"' "$TMP/refused.json" | head -1 | cut -d: -f2 | cut -d, -f1)
check net_gen_n_refused_seeds sh -c "[ -n '$s0' ] && for i in 0 1 2 3; do grep -q \"\\\"seed\\\":\$(($s0 + i)),\" '$TMP/refuse.log' || exit 1; done"
stop_server

# Nobody listening: retried, then one line naming the server.
expect_exit net_gen_unreachable 1 "$T" gen --backend openai --base-url "http://127.0.0.1:9/v1" -n 1 \
    --depth 1 --prompt x -o "$TMP/none.json"
summary_then_error net_gen_unreachable_message 'could not reach http://127.0.0.1:9/v1'
check net_gen_unreachable_says_where grep -q '1 branch failed: 1 under #0: could not reach' "$TMP/err"

# The vocabulary size V, for entropy upper bounds: llama.cpp's /v1/models says it
# (meta.n_vocab), every node records it, and stats gives an upper bound; a server whose list
# says nothing leaves V unknown; --vocab-size wins over the server.
start_server vocab --n-vocab 5000
expect_exit net_gen_vocab_llamacpp 0 "$T" gen --backend llamacpp --base-url "http://127.0.0.1:$PORT" -n 3 \
    --depth 1 --max-tokens 6 --logprobs 5 --prompt 'Hi' -o "$TMP/v.json"
check net_gen_vocab_recorded test "$(grep -c '"vocab":5000' "$TMP/v.json")" = 3
"$T" stats "$TMP/v.json" > "$TMP/v.stats" 2>&1
check net_gen_vocab_upper_bound sh -c "grep -q 'entropy upper' '$TMP/v.stats' && ! grep -qi 'V unknown' '$TMP/v.stats'"
expect_exit net_gen_vocab_setting_wins 0 "$T" gen --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m \
    -n 2 --depth 1 --max-tokens 4 --logprobs 5 --vocab-size 777 --prompt 'Hi' -o "$TMP/v2.json"
check net_gen_vocab_setting_recorded test "$(grep -c '"vocab":777' "$TMP/v2.json")" = 2
stop_server
start_server novocab
expect_exit net_gen_vocab_unknown 0 "$T" gen --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m \
    -n 2 --depth 1 --max-tokens 4 --logprobs 5 --prompt 'Hi' -o "$TMP/v3.json"
check net_gen_vocab_unknown_recorded sh -c "grep -q 'GET /v1/models' '$TMP/novocab.log' && ! grep -q '\"vocab\"' '$TMP/v3.json'"
stop_server

# --expand groups: a collapsed model (every choice the same text) grows one branch on, the
# duplicates stay leaves, and the summary says how many were not expanded.
start_server groups
expect_exit net_gen_expand_groups 0 "$T" gen --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model 'm;same=1' \
    -n 4 --depth 2 --max-tokens 4 --expand groups --prompt 'Hi' -o "$TMP/g.json"
check net_gen_expand_groups_nodes test "$(grep -c '"origin":"model"' "$TMP/g.json")" = 8
check net_gen_expand_groups_summary grep -q ', 3 near-duplicates not expanded, saved to' "$TMP/err"
expect_exit net_gen_expand_all 0 "$T" gen --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model 'm;same=1' \
    -n 4 --depth 2 --max-tokens 4 --prompt 'Hi' -o "$TMP/g2.json"
check net_gen_expand_all_nodes test "$(grep -c '"origin":"model"' "$TMP/g2.json")" = 20
stop_server
expect_exit net_gen_expand_entropy_refused 2 "$T" gen --strategy entropy --expand groups --prompt x -o "$TMP/x.json"

# --logprobs all over HTTP: each API's maximum (another server speaking OpenAI's legacy API,
# vLLM say: 20), llama.cpp the whole vocabulary; the status says what was asked.
start_server all --n-vocab 64
expect_exit net_gen_logprobs_all_openai 0 "$T" gen --backend openai --base-url "http://127.0.0.1:$PORT/v1" --model m \
    -n 1 --depth 1 --max-tokens 2 --logprobs all --prompt 'Hi' -o "$TMP/all.json"
check net_gen_logprobs_all_openai_sent grep -q '"logprobs":20' "$TMP/all.log"
expect_exit net_gen_logprobs_all_llamacpp 0 "$T" gen --backend llamacpp --base-url "http://127.0.0.1:$PORT" \
    -n 1 --depth 1 --max-tokens 2 --logprobs all --prompt 'Hi' -o "$TMP/all2.json"
check net_gen_logprobs_all_llamacpp_sent sh -c "grep -o '\"n_probs\":[0-9]*' '$TMP/all.log' | grep -Eq '\"n_probs\":(64|1000000)$'"
stop_server
