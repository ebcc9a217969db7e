#!/bin/sh
# tests: 3
# The terminal is given back whatever ends the loom: a fatal signal (a crash, an abort —
# an allocation failure aborts) leaves the shell in its own modes, off the alternate
# screen; and the external editor runs with no shell in between (a path with a quote).
. tests/lib.sh
NAMES="fatal_segv_restores_terminal fatal_abort_restores_terminal editor_without_shell"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "tui_$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc

# crash NAME SIGNAL : the loom is killed by SIGNAL while it draws; afterwards the shell in
# the same terminal must find echo and canonical mode on, and the loom's screen gone.
crash() {
    tm kill-server >/dev/null 2>&1
    NSTART=$((NSTART + 1))
    SOCK="termloom-test-$$-$NSTART"
    rm -f "$TMP/exit" "$TMP/stty"
    tm new-session -d -x 100 -y 30 \
        "cd '$TMP' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color TERMLOOM_SEED=7 '$T' --backend ngram -n 2 '$TMP/$1.json' 2>'$TMP/stderr'; echo \"EXIT=\$?\" > '$TMP/exit'; stty -a > '$TMP/stty'; clear; echo shell-is-back; sleep 30"
    tm set-option -g remain-on-exit on >/dev/null 2>&1
    if ! wait_for 'Tree +1 nodes' 15; then
        fail "tui_$1" "$(why 'the loom did not start')"
        return
    fi
    shell=$(tm display-message -p -t 0 '#{pane_pid}')
    pid=$(pgrep -P "$shell" | head -1)
    if [ -z "$pid" ]; then
        fail "tui_$1" "no loom process under the pane's shell $shell"
        return
    fi
    kill -s "$2" "$pid"
    n=$((100 * TUI_SLOW))
    while [ "$n" -gt 0 ] && [ ! -s "$TMP/stty" ]; do sleep 0.1; n=$((n - 1)); done
    if [ ! -s "$TMP/stty" ]; then
        fail "tui_$1" "the shell did not run after the loom died: $(cat "$TMP/stderr" | head -c 300)"
    elif grep -Eq -- '-icanon|-echo( |$)' "$TMP/stty"; then
        fail "tui_$1" "the terminal was left raw: $(grep -Eo -- '-?icanon|-?echo( |$)' "$TMP/stty" | tr '\n' ' ')"
    elif grep -q 'EXIT=0' "$TMP/exit"; then
        fail "tui_$1" "the loom exited 0 after SIG$2"
    elif ! wait_for 'shell-is-back' 5 || screen | grep -Eq 'Tree +[0-9]+ nodes'; then
        fail "tui_$1" "$(why 'the loom screen is still up')"
    else
        ok "tui_$1"
    fi
}
crash fatal_segv_restores_terminal SEGV
crash fatal_abort_restores_terminal ABRT

# The editor: VISUAL with an argument, a temporary folder whose name holds a quote and a
# space (the old system("%s '%s'") broke on it).
mkdir -p "$TMP/it's here"
cat > "$TMP/ed.sh" <<'ED'
#!/bin/sh
# a fake editor: expects "--flag FILE", writes the new text
[ "$1" = "--flag" ] && [ $# = 2 ] || exit 3
printf 'edited without a shell' > "$2"
ED
chmod +x "$TMP/ed.sh"
export VISUAL="$TMP/ed.sh --flag" TMPDIR="$TMP/it's here"
tui_start 100 30 --backend ngram -n 2 "$TMP/ed.json"
unset TMPDIR
if wait_for 'Tree +1 nodes' 15; then
    keys E
    if wait_for 'edited in' 10 && wait_for 'edited without a shell' 5; then
        ok tui_editor_without_shell
    else
        fail tui_editor_without_shell "$(why 'the editor did not edit the node')"
    fi
else
    fail tui_editor_without_shell "$(why 'the loom did not start')"
fi
