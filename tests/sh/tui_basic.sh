#!/bin/sh
# tests: 9
# The interactive loom in tmux: open, generate, move, tokens, branch from an alternative,
# resize, delete + undo, quit and reopen, help.  Seeded builtin model; fixed size.
. tests/lib.sh
NAMES="open generate navigate tokens branch_alt resize delete_undo reopen help"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/s.json"

tui_start 100 30 -n 3 "$S"
if wait_for 'Tree +1 nodes' 15 && screen | grep -q 'A writer who works'; then ok tui_open; else fail tui_open "$(why 'no tree with the default prompt')"; fi

keys Enter
if wait_for 'Tree +4 nodes' 15 && wait_gone 'branches,' 15 && [ "$(screen | grep -c '^[├└]── ')" = 3 ]; then
    ok tui_generate
else
    fail tui_generate "$(why 'expected 3 branches under the prompt')"
fi

nav_ok=1
step() {   # step KEY EXPECTED-STATS-PATTERN
    keys "$1"
    wait_for "node +$2" 3 || { nav_ok=0; fail tui_navigate "$(why "after $1 expected node $2")"; }
}
step l '#1 model'; step j '#2 model'; step j '#3 model'; step k '#2 model'; step h '#0 prompt'
step Right '#2 model'; step Down '#3 model'; step Up '#2 model'; step Up '#1 model'; step Left '#0 prompt'
step Right '#1 model'
screen | grep -q 'Text  depth 1' || { nav_ok=0; fail tui_navigate "$(why 'text panel not at depth 1')"; }
[ $nav_ok = 1 ] && ok tui_navigate

# The tokens panel: the selected token's probability and its alternatives as bars.
nalt=$(screen | grep -cE '[0-9]+\.[0-9]%$')
if screen | grep -Eq "p [0-9.]+%  logprob -?[0-9.]+" && [ "$nalt" -ge 3 ] && screen | grep -q '█'; then
    ok tui_tokens
else
    fail tui_tokens "$(why "probability and alternatives expected ($nalt rows)")"
fi

# Branch from the second alternative of the first token: a forced-token node, then k more.
keys Tab Tab
wait_for 'Enter branch' 3
keys Down
alt=$(screen | sed -n "s/.*▶ '\([^']*\)'.*/\1/p" | head -1 | sed 's/^ *//')
keys Enter
if [ -n "$alt" ] && wait_for 'Tree +8 nodes' 15 && wait_for 'node +#4 forced' 5 && screen | grep -Fq "↳ $alt"; then
    ok tui_branch_alt
else
    fail tui_branch_alt "$(why "forced node with '$alt' and 3 children expected")"
fi
wait_gone 'branches,' 15

# Resize: smaller, too small, back.  Nothing overflows and the panels come back.
tm resize-window -t 0 -x 60 -y 20
sleep 0.4
small=$(screen)
tm resize-window -t 0 -x 30 -y 8
sleep 0.4
tiny=$(screen)
tm resize-window -t 0 -x 100 -y 30
sleep 0.4
if printf '%s\n' "$small" | grep -q ' Tree ' && printf '%s\n' "$small" | grep -q ' Tokens' &&
   printf '%s\n' "$small" | grep -q '? help' && [ "$(printf '%s\n' "$small" | LC_ALL=C.UTF-8 wc -L)" -le 60 ] &&
   printf '%s\n' "$tiny" | grep -q 'needs at least' &&
   wait_for ' Stats' 3 && wait_for 'node +#4 forced' 3 && [ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 100 ]; then
    ok tui_resize
else
    fail tui_resize "$(why "small: $(printf '%s' "$small" | head -c 600 | tr '\n' '|')")"
fi

# Delete the forced node's subtree (asks first), then undo.
keys d
if wait_for 'Delete node #4 and its 3 descendants' 3 && keys y && wait_for 'Tree +4 nodes' 3 &&
   keys u && wait_for 'Tree +8 nodes' 3 && wait_for 'node +#4 forced' 3; then
    ok tui_delete_undo
else
    fail tui_delete_undo "$(why 'delete then undo')"
fi

# Quit and reopen: the same tree and cursor.
keys l
wait_for 'node +#5 model' 3
keys q
if wait_exit 5 && grep -q 'EXIT=0' "$TMP/exit" && [ -s "$S" ]; then
    rm -f "$TMP/exit"
    tui_start 100 30 "$S"
    if wait_for 'Tree +8 nodes' 10 && wait_for 'node +#5 model' 3 && screen | grep -q "Text  depth 2"; then
        ok tui_reopen
    else
        fail tui_reopen "$(why 'reopened session differs')"
    fi
else
    fail tui_reopen "exit: $(cat "$TMP/exit" 2>/dev/null) $(cat "$TMP/stderr" 2>/dev/null)"
fi

# Help lists every action of the table.
keys '?'
wait_for 'termloom keys' 3
: > "$TMP/help"
for i in 1 2 3 4; do screen >> "$TMP/help"; keys_changed NPage || break; done
missing=""
for a in $(sed -n 's/^ *{ "\([a-z_]*\)", *SCOPE_.*/\1/p' "$TERMLOOM_ROOT/tui/actions.c"); do
    grep -q " $a " "$TMP/help" || missing="$missing $a"
done
count=$(sed -n 's/^ *{ "\([a-z_]*\)", *SCOPE_.*/\1/p' "$TERMLOOM_ROOT/tui/actions.c" | wc -l)
if [ -z "$missing" ] && [ "$count" -ge 30 ]; then ok tui_help; else fail tui_help "missing:$missing (of $count)"; fi
keys q
keys q
wait_exit 5
