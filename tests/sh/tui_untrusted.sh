#!/bin/sh
# tests: 4
# Untrusted text in the TUI: escape sequences in node texts are shown as placeholders and
# never reach the terminal; wide CJK and emoji keep the panels aligned.
. tests/lib.sh
NAMES="escape_placeholders escape_not_sent wide_aligned ascii_locale"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/evil.json"
# \u001b]0;PWNED\u0007 sets the window title; \u001b[2J clears the screen; \u001b[31m colours.
cat > "$S" <<'JSON'
{"format": "termloom-session", "version": 1,
 "settings": {"backend": "builtin", "branches": 2, "max_tokens": 8},
 "root": 0, "cursor": 1,
 "nodes": [
  {"id": 0, "parent": null, "origin": "prompt", "text": "Prompt \u001b]0;PWNED\u0007 end", "children": [1, 2, 3]},
  {"id": 1, "parent": 0, "origin": "model", "text": " red\u001b[31mALERT\u001b[2J\u001b[H tail", "finish_reason": "stop", "children": []},
  {"id": 2, "parent": 0, "origin": "model", "text": " 中文字符测试 wide 漢字 text", "finish_reason": "stop", "children": []},
  {"id": 3, "parent": 0, "origin": "model", "text": " emoji 😀🎉 and e\u0301 combining \u202e rlo", "finish_reason": "stop", "children": []}
 ]}
JSON
: > "$TMP/raw"
TUI_PRE="sleep 0.5;"
tui_start 100 30 "$S"
tm pipe-pane -o -t 0 "cat >> '$TMP/raw'"
wait_for 'Tree +4 nodes' 10

if screen | grep -Fq '␛[31mALERT␛[2J␛[H tail' && screen | grep -Fq '␛]0;PWNED␇ end'; then
    ok tui_escape_placeholders
else
    fail tui_escape_placeholders "$(why 'placeholders expected')"
fi

title=$(tm display-message -p -t 0 '#{pane_title}')
esc=$(printf '\033')
if grep -q "${esc}]0;PWNED" "$TMP/raw" || grep -q "${esc}\[31mALERT" "$TMP/raw" || [ "$title" = PWNED ] ||
   ! grep -q "PWNED" "$TMP/raw"; then
    fail tui_escape_not_sent "the model's escape sequences reached the terminal (title '$title')"
else
    ok tui_escape_not_sent
fi

# Every tree row ends its panel at the same column: the separator is at display column 41.
keys j
wait_for 'node +#2' 3
bad=0
rows=0
screen | head -28 > "$TMP/rows"
while IFS= read -r line; do
    case "$line" in *│*) ;; *) continue ;; esac
    rows=$((rows + 1))
    w=$(printf '%s\n' "${line%%│*}" | LC_ALL=C.UTF-8 wc -L)
    [ "$w" = 40 ] || bad=$((bad + 1))
done < "$TMP/rows"
if [ "$bad" = 0 ] && [ "$rows" -ge 20 ] && grep -q '中文字符测试' "$TMP/rows" && grep -q '😀🎉' "$TMP/rows" &&
   grep -q '<202e>' "$TMP/rows"; then
    ok tui_wide_aligned
else
    fail tui_wide_aligned "$bad misaligned of $rows rows; $(why '')"
fi
keys q
wait_exit 5
wait_exit 5
rm -f "$TMP/exit"

# A locale that is not UTF-8: ASCII outline and ^[ placeholders, nothing wider than ASCII.
TUI_PRE=""; TUI_LOCALE=C
tui_start 100 30 "$S"
if wait_for 'Tree +4 nodes' 10 && screen | grep -Fq '^[[31mALERT^[[2J^[[H tail' && screen | grep -q '^`-- ' && screen | grep -q '^v   Prompt .*|Prompt' &&
   ! screen | grep -q '├'; then
    ok tui_ascii_locale
else
    fail tui_ascii_locale "$(why 'ASCII fallback')"
fi
keys q
