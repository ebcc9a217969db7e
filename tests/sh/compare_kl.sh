#!/bin/sh
# tests: 8
# The KL to the other side outlives the command that measured it: `termloom compare -o`
# stores it on the labels and each scored sample's per-token log-ratios, and stats, jsonl
# export, the TUI's compare view and its D tint show them.
. "$(dirname "$0")/../lib.sh"
S="$TMP/c.json"
"$T" compare --a model=base --b model=tuned --prompt 'ROMEO:' -n 4 --max-tokens 12 --seed 5 --json -o "$S" \
    > "$TMP/c.out" 2> "$TMP/err"
check compare_kl_stored test "$(grep -c '"kl_to_other":{"value"' "$S")" = 2
# the value compare printed (--json: "kl_to_other": { "value": V, ...), per side, to 2 decimals
kl() { grep -A1 '"kl_to_other": *{' "$TMP/c.out" | grep '"value"' | sed -n "$(($1 + 1))p" |
       sed 's/.*"value": *\([-0-9.eE+]*\).*/\1/' | awk '{ printf "%.2f", $1 }'; }

A=$(kl 0); B=$(kl 1)
"$T" stats "$S" > "$TMP/stats" 2>&1
check compare_kl_stats_text sh -c "grep -q ' A .* $A nats/token (95% ' '$TMP/stats' && grep -q ' B .* $B nats/token (95% ' '$TMP/stats'"
"$T" export --format jsonl "$S" -o "$TMP/c.jsonl" 2> "$TMP/err"
# every token of the 8 samples carries its log-ratio
ntok=$(grep '"type":"token"' "$TMP/c.jsonl" | grep -c '"logratio":')
check compare_kl_jsonl_logratio test "$ntok" -ge 8
R="$TMP/screens"
mkdir -p "$R"
printf 'c\nscreen view\nEsc\nl\nl\nD\nscreen tint\n' > "$TMP/keys"
env TERMLOOM_KEYS="$TMP/keys" TERMLOOM_SCREENS="$R" LINES=30 COLUMNS=120 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    XDG_CONFIG_HOME="$TMP/none" "$T" "$S" < /dev/null > /dev/null 2> "$TMP/err"
check compare_kl_tui_view sh -c "grep -q 'KL to B  $A nats/token (95% ' '$R/view' && grep -q 'KL to A  $B nats/token (95% ' '$R/view'"
check compare_kl_tui_tint sh -c "grep -q 'tint: log-ratio to the other side' '$R/tint' && grep -Eq 'log-ratio to the other side [+-][0-9]+\.[0-9]{2}' '$R/tint'"
printf 'Home\nD\nscreen none\n' > "$TMP/keys2"
env TERMLOOM_KEYS="$TMP/keys2" TERMLOOM_SCREENS="$R" LINES=30 COLUMNS=120 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    XDG_CONFIG_HOME="$TMP/none" "$T" "$S" < /dev/null > /dev/null 2> "$TMP/err"
check compare_kl_tint_says_none grep -q 'this node has none' "$R/none"

# D against a reference model from the settings: a tuned sample, each token's log-ratio to
# base, scored off the loop's thread.
"$T" gen --model tuned --prompt 'ROMEO:' -n 1 --depth 1 --max-tokens 12 --seed 3 -o "$TMP/t.json" 2> "$TMP/err"
printf 'l\nD\nTab\nl\nl\nscreen ref\n' > "$TMP/keys3"
env TERMLOOM_KEYS="$TMP/keys3" TERMLOOM_SCREENS="$R" LINES=30 COLUMNS=120 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    XDG_CONFIG_HOME="$TMP/none" "$T" --reference-model base "$TMP/t.json" < /dev/null > /dev/null 2> "$TMP/err"
check compare_kl_tint_reference sh -c "grep -q 'tint: log-ratio to base' '$R/ref' && grep -Eq 'log-ratio to base [+-][0-9]+\.[0-9]{2}' '$R/ref'"
printf 'l\nD\nscreen refmissing\n' > "$TMP/keys4"
env TERMLOOM_KEYS="$TMP/keys4" TERMLOOM_SCREENS="$R" LINES=30 COLUMNS=120 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    XDG_CONFIG_HOME="$TMP/none" "$T" --reference-model nosuch "$TMP/t.json" < /dev/null > /dev/null 2> "$TMP/err"
check compare_kl_tint_reference_missing grep -q "reference model: model 'nosuch' not found" "$R/refmissing"
