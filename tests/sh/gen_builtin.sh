#!/bin/sh
# tests: 57
# termloom gen with the builtin model, through the real binary; sessions checked with the
# real loader (tests/tools/session_info).
. "$(dirname "$0")/../lib.sh"
INFO="$TOOLS/session_info"
field() { grep "^$1 " "$2" | cut -d' ' -f2; }

# Breadth: 1 + 3 + 9 nodes; every model token has a logprob and alternatives.  When stderr
# is not a terminal it gets no progress line, only the one-line summary: nodes, tokens (as
# many as the file holds), time, failures, the file.
expect_exit gen_breadth 0 "$T" gen --prompt "The loom" -n 3 --depth 2 --seed 7 -o "$TMP/a.json"
"$INFO" "$TMP/a.json" > "$TMP/a.info" 2>&1
check gen_summary_without_tty test "$(wc -l < "$TMP/err")" = 1 -a \
    "$(sed -n 's/^termloom gen: \([0-9]*\) nodes, \([0-9]*\) tokens in [0-9.hms]* ([0-9]* tok\/s), 0 branches failed, saved to .*a\.json$/\1 \2/p' "$TMP/err")" = \
    "13 $(field tokens "$TMP/a.info")"
check gen_no_progress_without_tty sh -c "! grep -q \"\$(printf '\\r')\" '$TMP/err' && ! grep -q branches/ '$TMP/err'"
check gen_session_loads test "$(field nodes "$TMP/a.info")" = 13
check gen_depth test "$(field depth "$TMP/a.info")" = 2
tok=$(field tokens "$TMP/a.info")
check gen_tokens_have_logprobs test "${tok:-0}" -gt 0 -a "$tok" = "$(field tokens_with_logprob "$TMP/a.info")"
check gen_tokens_have_alternatives test "${tok:-0}" -gt 0 -a "$tok" = "$(field tokens_with_alternatives "$TMP/a.info")"
check gen_finish_length test "$(field finish_length "$TMP/a.info")" = 12
check gen_settings_saved grep -q '"seed": *7' "$TMP/a.json"

# stats reads what gen wrote: 3 distinct children under the root → log2(3) bits.
expect_exit gen_stats_runs 0 "$T" stats "$TMP/a.json"
check gen_stats_branch_entropy grep -Eq '^ *root bits +1\.585' "$TMP/out"
check gen_stats_token_entropy grep -Eq '^ *nodes with logprobs +12' "$TMP/out"
# The builtin model knows its whole distribution: its token entropy is exact, not a bound,
# and it survives the round trip through the file.
check gen_stats_builtin_entropy_exact grep -Eq '^ *exact +yes' "$TMP/out"
check gen_stats_builtin_no_leftover grep -Eq '^ *mean leftover mass +0\.000' "$TMP/out"

# md of a tree gen made (the cursor is the root): the deepest path, the newest of the
# deepest, not just the prompt; the first line says which.  A moved cursor gives its path;
# with the cursor back at the root, the deepest visited node's.
mdtext() { "$T" export --format md "$@" -o - | sed 1d; }
"$T" export --format md "$TMP/a.json" -o "$TMP/a.md"
end=$(head -1 "$TMP/a.md" | sed -n 's/^<!-- termloom: the path to node #\([0-9]*\) (depth 2), the deepest node.*(the cursor is at the root) -->$/\1/p')
check gen_md_deepest_path test -n "$end" -a "$(sed 1d "$TMP/a.md")" = "$(mdtext --node "${end:-0}" "$TMP/a.json")" \
    -a "$(sed 1d "$TMP/a.md")" != "The loom"
check gen_md_newest_of_deepest test "$end" = 12
sed 's/"cursor":0/"cursor":5/' "$TMP/a.json" > "$TMP/a5.json"
check gen_md_cursor_path test "$("$T" export --format md "$TMP/a5.json" -o - | head -1)" = \
    "<!-- termloom: the path to node #5 (depth 2), the cursor -->" -a "$(mdtext "$TMP/a5.json")" = "$(mdtext --node 5 "$TMP/a.json")"
sed 's/^{"id":7,/{"id":7,"visited":true,/' "$TMP/a.json" > "$TMP/a7.json"
check gen_md_deepest_visited test "$("$T" export --format md "$TMP/a7.json" -o - | head -1)" = \
    "<!-- termloom: the path to node #7 (depth 2), the deepest visited node (the cursor is at the root) -->"

# Same seed → the same file byte for byte (clock fixed); another seed → another tree.
TERMLOOM_CLOCK=1700000000 "$T" gen --prompt "The loom" -n 3 --depth 2 --seed 11 -o "$TMP/s1.json" 2>/dev/null
TERMLOOM_CLOCK=1700000000 "$T" gen --prompt "The loom" -n 3 --depth 2 --seed 11 -o "$TMP/s2.json" 2>/dev/null
TERMLOOM_CLOCK=1700000000 "$T" gen --prompt "The loom" -n 3 --depth 2 --seed 12 -o "$TMP/s3.json" 2>/dev/null
check gen_same_seed_same_tree cmp -s "$TMP/s1.json" "$TMP/s2.json"
"$INFO" "$TMP/s1.json" --texts | grep '^text ' | sort > "$TMP/t1"
"$INFO" "$TMP/s3.json" --texts | grep '^text ' | sort > "$TMP/t3"
check gen_other_seed_other_tree test "$(comm -12 "$TMP/t1" "$TMP/t3" | wc -l)" -lt 2
check gen_branches_differ test "$(sort -u "$TMP/t1" | wc -l)" = 12

# Stop strings: every branch ends with finish "stop", before the stop string.
expect_exit gen_stop 0 "$T" gen --prompt "The keeper" -n 4 --depth 1 --stop . --max-tokens 400 --seed 3 -o "$TMP/stop.json"
"$INFO" "$TMP/stop.json" --texts > "$TMP/stop.info"
check gen_stop_finish test "$(field finish_stop "$TMP/stop.info")" = 4
check gen_stop_text_cut sh -c "! grep '^text ' '$TMP/stop.info' | grep -q '[.]'"

# Entropy strategy: exactly the budget of nodes (one request at a time: --concurrency 3 with
# k = 3, so each expansion is the best leaf of the tree as it then is).
expect_exit gen_entropy 0 "$T" gen --prompt "Mode collapse" --strategy entropy --budget 10 -n 3 --seed 5 --concurrency 3 -o "$TMP/e.json"
"$INFO" "$TMP/e.json" > "$TMP/e.info"
check gen_entropy_budget test "$(field nodes "$TMP/e.info")" = 10
"$INFO" "$TMP/e.json" --entropy-order > "$TMP/e.order"
check gen_entropy_highest_first grep -qx 'entropy_order ok' "$TMP/e.order"
check gen_entropy_expanded_several test "$(field expansions "$TMP/e.order")" -ge 3
# An expansion is never cut short: --budget 9 with k = 3 stops at 7 nodes (1 + 3 + 3), every
# expanded node with its 3 children.
expect_exit gen_entropy_whole_expansions 0 "$T" gen --prompt "Mode collapse" --strategy entropy --budget 9 -n 3 --seed 5 -o "$TMP/e9.json"
"$INFO" "$TMP/e9.json" > "$TMP/e9.info"
check gen_entropy_budget_not_cut sh -c "[ \"\$(grep '^nodes ' '$TMP/e9.info' | cut -d' ' -f2)\" = 7 ] &&
    ! grep -o '\"children\":\[[0-9,]*\]' '$TMP/e9.json' | grep -Eqv '\"children\":\[\]|\"children\":\[[0-9]+,[0-9]+,[0-9]+\]'"
# The check can fail: a breadth tree is not grown highest-entropy first.
expect_exit gen_breadth_for_order 0 "$T" gen --prompt "Mode collapse" -n 3 --depth 2 --seed 5 -o "$TMP/b.json"
check gen_entropy_order_detects_breadth sh -c "'$INFO' '$TMP/b.json' --entropy-order | grep -qx 'entropy_order wrong'"

# A corpus of one's own: only its words come out.
printf ' the cat sat on the mat. the dog sat on the log.\n' > "$TMP/tiny.txt"
expect_exit gen_own_corpus 0 "$T" gen --backend ngram --corpus "$TMP/tiny.txt" --prompt "the" -n 4 --max-tokens 20 --seed 9 -o "$TMP/c.json"
"$INFO" "$TMP/c.json" --texts | grep '^text ' | sed -e 's/^text //' -e 's/\\n/ /g' | tr ' .' '\n\n' | grep -v '^$' | sort -u > "$TMP/words"
check gen_own_corpus_words test -s "$TMP/words" -a -z "$(grep -vxE 'the|cat|sat|on|mat|dog|log' "$TMP/words")"

# Corpus errors: one line naming the file, exit 1.
expect_exit gen_corpus_missing 1 "$T" gen --backend ngram --corpus "$TMP/nope.txt" --prompt x -o "$TMP/x.json"
one_line_error gen_corpus_missing_msg "nope.txt: No such file"
: > "$TMP/empty.txt"
expect_exit gen_corpus_empty 1 "$T" gen --backend ngram --corpus "$TMP/empty.txt" --prompt x -o "$TMP/x.json"
one_line_error gen_corpus_empty_msg "empty.txt: the corpus is empty"
printf '\177ELF\002\001\001\000\000\000\000\000\000' > "$TMP/bin.dat"
expect_exit gen_corpus_binary 1 "$T" gen --backend ngram --corpus "$TMP/bin.dat" --prompt x -o "$TMP/x.json"
one_line_error gen_corpus_binary_msg "bin.dat: not a text file"
check gen_no_file_on_corpus_error test ! -e "$TMP/x.json"

# Usage errors exit 2.
expect_exit gen_needs_prompt 2 "$T" gen -o "$TMP/x.json"
one_line_error gen_needs_prompt_msg "prompt is required"
expect_exit gen_needs_output 2 "$T" gen --prompt x
expect_exit gen_bad_strategy 2 "$T" gen --prompt x -o "$TMP/x.json" --strategy random
expect_exit gen_budget_needs_entropy 2 "$T" gen --prompt x -o "$TMP/x.json" --budget 5
expect_exit gen_unknown_arg 2 "$T" gen --prompt x -o "$TMP/x.json" --frobnicate

# The progress line only on a terminal (script(1) gives the program one): branches
# done/total, tokens/s and ETA, redrawn in place with \r, then wiped for the summary.
if command -v script >/dev/null 2>&1; then
    script -qec "\"$T\" gen --prompt 'The loom' -n 2 --depth 3 -o '$TMP/p.json'" /dev/null > "$TMP/tty" 2>&1
    check gen_progress_on_tty grep -Eq "$(printf '\r')gen  [0-9]+/14 branches  [0-9]+ tok/s  ETA [0-9.hms?]+" "$TMP/tty"
    check gen_summary_on_tty grep -Eq "$(printf '\r')termloom gen: 15 nodes, [0-9]+ tokens in" "$TMP/tty"
else
    skip gen_progress_on_tty "script(1) is not installed"
    skip gen_summary_on_tty "script(1) is not installed"
fi

# Interrupted: what was grown is saved, one line says so, exit 1.  (Depth 9 would take
# minutes; the signal comes after half a second.)
"$T" gen --prompt "The loom" -n 4 --depth 9 -o "$TMP/int.json" 2> "$TMP/err" &
GEN=$!
sleep 0.5
kill -INT "$GEN" 2>/dev/null
wait "$GEN"
rc=$?
check gen_interrupt_exit test "$rc" = 1
summary_then_error gen_interrupt_msg "interrupted: the [0-9]+ nodes grown so far are saved in"
"$INFO" "$TMP/int.json" > "$TMP/int.info" 2>&1
check gen_interrupt_saved test "$(field nodes "$TMP/int.info")" -gt 1

# --logprobs all: the embedded model gives its whole distribution (2,048 alternatives).
expect_exit gen_logprobs_all 0 "$T" gen --prompt "ROMEO:" -n 1 --depth 1 --max-tokens 1 --logprobs all -o "$TMP/all.json"
check gen_logprobs_all_whole_vocabulary test "$(grep '"origin":"model"' "$TMP/all.json" | grep -o '"logprob"' | wc -l)" = 2049
check gen_logprobs_all_saved grep -q '"logprobs":1000000' "$TMP/all.json"
expect_exit gen_logprobs_bad 2 "$T" gen --prompt x --logprobs most -o "$TMP/bad.json"
one_line_error gen_logprobs_bad_message "logprobs: 'most' is not a whole number from 0 to 1000000, or all"
