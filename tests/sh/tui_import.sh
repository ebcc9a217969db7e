#!/bin/sh
# tests: 7
# Another loom's file opens without waiting (core/formats.h, formats_open_*): it is imported
# on a thread while the loop answers keys (help and quit work, changes are refused), then
# the tree appears and is saved beside the file as a session; a quit before that writes
# nothing; a file that does not import is one error line, nothing written.
# Replay scripts (tui/replay.h): "busy" steps run while the import goes on, which waits 2 s
# before it begins (TERMLOOM_IMPORT_DELAY), so the keys meet it on any machine.
. "$(dirname "$0")/../lib.sh"
N=3000
"$TOOLS/gen_session" $N "$TMP/src.json" line &&
    "$T" export --format loom "$TMP/src.json" -o "$TMP/big.json" 2>"$TMP/err" ||
    { echo "FAIL tui_import_setup: $(head -c 200 "$TMP/err")"; exit 0; }
cp "$TMP/big.json" "$TMP/orig.json"
run() {   # run SCRIPT FILE: the loom on FILE with keys from SCRIPT, screens in $TMP/scr
    rm -rf "$TMP/scr"
    mkdir -p "$TMP/scr"
    replay "$1" "$TMP/scr" TERMLOOM_IMPORT_DELAY=2 "$T" --backend ngram "$2"
}
status() { tail -1 "$TMP/scr/$1"; }

cat > "$TMP/keys" <<'KEYS'
busy screen first
busy ?
busy screen help
busy Esc
busy m
busy screen refused
screen done
KEYS
run "$TMP/keys" "$TMP/big.json"
rc=$?
if [ "$rc" = 0 ] && status first | grep -q 'importing [0-9]* s' && ! grep -q "Tree  $N" "$TMP/scr/first"; then
    ok tui_import_first_frame
else
    fail tui_import_first_frame "exit $rc: $(status first 2>/dev/null) $(head -c 200 "$TMP/err")"
fi
check tui_import_help_meanwhile grep -q 'termloom keys' "$TMP/scr/help"
check tui_import_change_refused grep -q 'waits until the import is done' "$TMP/scr/refused"
# at the end: the whole tree, and a session beside the file holding it; the file untouched
if grep -q "Tree  $N nodes" "$TMP/scr/done" &&
   "$TOOLS/session_info" "$TMP/big.termloom.json" | grep -qx "nodes $N" && cmp -s "$TMP/orig.json" "$TMP/big.json"; then
    ok tui_import_whole_and_saved
else
    fail tui_import_whole_and_saved "$(head -1 "$TMP/scr/done") $(status done) $("$TOOLS/session_info" "$TMP/big.termloom.json" 2>&1 | head -1)"
fi

# q while importing: nothing is written beside the file
rm -f "$TMP/big.termloom.json"
printf 'busy screen first\nbusy q\n' > "$TMP/quit.keys"
run "$TMP/quit.keys" "$TMP/big.json"
rc=$?
sleep 3                                   # an import left running would have saved by now
if [ "$rc" = 0 ] && status first | grep -q importing && [ ! -e "$TMP/big.termloom.json" ] &&
   cmp -s "$TMP/orig.json" "$TMP/big.json"; then
    ok tui_import_quit_writes_nothing
else
    fail tui_import_quit_writes_nothing "exit $rc, $(status first 2>/dev/null); $(ls "$TMP")"
fi

# a file that is no loom (cut short): one error line, exit 1, nothing written
head -c 200000 "$TMP/orig.json" > "$TMP/cut.json"
want=$("$T" import "$TMP/cut.json" -o "$TMP/cut.out.json" 2>&1)
printf 'busy screen first\nj\n' > "$TMP/bad.keys"
run "$TMP/bad.keys" "$TMP/cut.json"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l < "$TMP/err")" = 1 ] && [ -n "$want" ] && grep -qF "$want" "$TMP/err"; then
    ok tui_import_bad_file_one_line
else
    fail tui_import_bad_file_one_line "exit $rc; want '$want'; got $(head -c 300 "$TMP/err" | tr '\n' '|')"
fi
if [ ! -e "$TMP/cut.termloom.json" ] && [ ! -e "$TMP/cut.out.json" ]; then
    ok tui_import_bad_file_nothing_written
else
    fail tui_import_bad_file_nothing_written "$(ls "$TMP")"
fi
