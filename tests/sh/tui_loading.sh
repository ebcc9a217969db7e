#!/bin/sh
# tests: 8
# A big session is read in slices (tui/app.h, app_load_step): the first frame shows the
# first slice with "loading N%" on the status line, keys that move are answered while the
# rest is read, keys that would change or save it are refused with a message, and at the
# end the whole tree is there (and saved whole).  A quit while reading leaves the file as
# it was; a file found bad at its end is one error line, the file untouched.
# Replay scripts (tui/replay.h) with "busy" steps; TERMLOOM_LOAD_PACE=frame reads one slice
# a frame, so the keys meet the loading at the same place on any machine.
. "$(dirname "$0")/../lib.sh"
N=100000
"$TOOLS/gen_session" $N "$TMP/big.json" pretty || { echo "FAIL tui_loading_setup: gen_session"; exit 0; }
cp "$TMP/big.json" "$TMP/orig.json"
run() {   # run SCRIPT FILE [PACE]: the loom on FILE with keys from SCRIPT, screens in $TMP/scr
    rm -rf "$TMP/scr"
    mkdir -p "$TMP/scr"
    replay "$1" "$TMP/scr" TERMLOOM_LOAD_PACE="${3:-}" "$T" --backend ngram "$2"
}
status() { tail -1 "$TMP/scr/$1"; }

cat > "$TMP/keys" <<'EOF'
busy screen first
busy l
busy j
busy screen moved
busy x
busy screen refused
busy s
busy screen save_refused
screen done
EOF
run "$TMP/keys" "$TMP/big.json" frame
rc=$?
if [ "$rc" = 0 ] && status first | grep -Eq 'loading [0-9]+% \([0-9]+ nodes\)' &&
   ! status first | grep -q 'loading 100%'; then
    ok tui_loading_first_frame
else
    fail tui_loading_first_frame "exit $rc: $(status first 2>/dev/null) $(head -c 200 "$TMP/err")"
fi
# l then j: the first child's next sibling, node 2, while the file is still being read
if grep -q 'Once upon a time branch 2 of the loom' "$TMP/scr/moved" && status moved | grep -q 'loading'; then
    ok tui_loading_keys_answered
else
    fail tui_loading_keys_answered "$(head -3 "$TMP/scr/moved" | tr '\n' '|') $(status moved)"
fi
check tui_loading_export_refused grep -q 'export waits until the file is read' "$TMP/scr/refused"
check tui_loading_save_refused grep -q 'save waits until the file is read' "$TMP/scr/save_refused"
# at the end: the whole tree, shown, and written back whole
if grep -q "Tree  $N nodes" "$TMP/scr/done" && status done | grep -q 'saved' &&
   "$TOOLS/session_info" "$TMP/big.json" | grep -qx "nodes $N"; then
    ok tui_loading_whole_at_end
else
    fail tui_loading_whole_at_end "$(head -1 "$TMP/scr/done") $(status done) $("$TOOLS/session_info" "$TMP/big.json" 2>&1 | head -1)"
fi

# q while the file is read: nothing is written
cp "$TMP/orig.json" "$TMP/quit.json"
printf 'busy screen first\nbusy q\n' > "$TMP/quit.keys"
run "$TMP/quit.keys" "$TMP/quit.json" frame
rc=$?
if [ "$rc" = 0 ] && status first | grep -q loading && cmp -s "$TMP/orig.json" "$TMP/quit.json" &&
   [ ! -e "$TMP/quit.json.journal" ]; then
    ok tui_loading_quit_writes_nothing
else
    fail tui_loading_quit_writes_nothing "exit $rc, $(status first 2>/dev/null); $(ls "$TMP")"
fi

# the last node names a parent that does not list it: found only at the end
sed 's/^      "parent":12499,$/      "parent":12498,/' "$TMP/orig.json" > "$TMP/bad.json"
cp "$TMP/bad.json" "$TMP/bad.orig"
want=$("$TOOLS/session_info" "$TMP/bad.json" 2>&1)
printf 'busy screen first\nj\n' > "$TMP/bad.keys"
run "$TMP/bad.keys" "$TMP/bad.json"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l < "$TMP/err")" = 1 ] && [ -n "$want" ] && grep -qF "$want" "$TMP/err"; then
    ok tui_loading_bad_file_one_line
else
    fail tui_loading_bad_file_one_line "exit $rc; want '$want'; got $(head -c 300 "$TMP/err" | tr '\n' '|')"
fi
check tui_loading_bad_file_untouched cmp -s "$TMP/bad.orig" "$TMP/bad.json"
