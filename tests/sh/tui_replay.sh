#!/bin/sh
# tests: 7
# Deterministic TUI runs (tui/replay.h): each tests/replay/NAME.keys script drives the real
# loom on the n-gram model, seeded, with keys from the script and no terminal, and every
# screen it writes must equal tests/replay/NAME.SCREEN.txt exactly (tig-style golden
# screens).  A script's "# args: ..." line adds options.  TERMLOOM_UPDATE_GOLDEN=1 rewrites the golden files instead (check the diff).
# Also: a bad script is one line and exit 1.
. "$(dirname "$0")/../lib.sh"
R="${TERMLOOM_ROOT:-.}/tests/replay"
for script in basic narrow search layout alts; do
    out="$TMP/$script"
    args=$(sed -n 's/^# args: //p' "$R/$script.keys")
    mkdir -p "$out"
    replay "$R/$script.keys" "$out" TERMLOOM_SEED=7 TERMLOOM_CLOCK=1767225600 \
        "$T" --backend ngram -n 3 $args "$out/s.json"
    rc=$?
    if [ "$rc" != 0 ]; then
        fail "tui_replay_$script" "exit $rc: $(head -c 300 "$TMP/err")"
        continue
    fi
    bad=""
    want=$(grep -c '^ *screen ' "$R/$script.keys")
    got=0
    for f in "$out"/*; do
        name=$(basename "$f")
        [ "$name" = s.json ] && continue
        got=$((got + 1))
        golden="$R/$script.$name.txt"
        if [ -n "$TERMLOOM_UPDATE_GOLDEN" ]; then
            cp "$f" "$golden"
        elif ! cmp -s "$f" "$golden"; then
            bad="$bad $name"
            diff "$golden" "$f" | head -20 > "$TMP/diff.$script.$name"
        fi
    done
    if [ "$got" != "$want" ]; then
        fail "tui_replay_$script" "$got screens written, the script marks $want"
    elif [ -n "$bad" ]; then
        fail "tui_replay_$script" "screens differ from the golden ones:$bad; $(cat "$TMP"/diff.$script.* | head -c 600 | tr '\n' '|')"
    else
        ok "tui_replay_$script"
    fi
done
printf 'Enter\nbogus-key\n' > "$TMP/bad.keys"
env TERMLOOM_KEYS="$TMP/bad.keys" LINES=30 COLUMNS=100 TERM=xterm-256color "$T" --backend ngram "$TMP/bad.json" \
    < /dev/null > /dev/null 2> "$TMP/err"
check tui_replay_bad_key_exit test $? = 1
one_line_error tui_replay_bad_key_message "TERMLOOM_KEYS line 2: 'bogus-key' is not a key name"
