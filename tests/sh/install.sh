#!/bin/sh
# tests: 5
# make install and make uninstall: the binary, its man page, the themes and the three
# shipped models (with their model card and training script) land under DESTDIR/PREFIX,
# byte for byte, and go again.  The binary under test is installed as it is (never rebuilt).
. "$(dirname "$0")/../lib.sh"
ROOT=${TERMLOOM_ROOT:?}
unset MAKEFLAGS MFLAGS MAKELEVEL
D=$TMP/x
SHARE=$D/usr/local/share/termloom

if make --no-print-directory -C "$ROOT" -o "$T" install DESTDIR="$D" PREFIX=/usr/local BIN="$T" \
        >"$TMP/out" 2>"$TMP/err"; then
    ok install_runs
else
    fail install_runs "$(tail -c 300 "$TMP/err")"
fi

missing=
for f in base.gguf tuned.gguf rl.gguf README.md train_tiny_lm.py; do
    cmp -s "$ROOT/models/$f" "$SHARE/models/$f" || missing="$missing $f"
done
if [ -z "$missing" ]; then ok install_models; else fail install_models "not installed or not identical:$missing"; fi

bad=
for t in "$ROOT"/themes/*.theme; do
    cmp -s "$t" "$SHARE/themes/$(basename "$t")" || bad="$bad $(basename "$t")"
done
if [ -z "$bad" ]; then ok install_themes; else fail install_themes "not installed:$bad"; fi

if cmp -s "$T" "$D/usr/local/bin/termloom" && "$D/usr/local/bin/termloom" --version >/dev/null 2>&1 &&
   cmp -s "$ROOT/doc/termloom.1" "$D/usr/local/share/man/man1/termloom.1"; then
    ok install_binary_and_man
else
    fail install_binary_and_man "bin/termloom or man1/termloom.1 missing or different"
fi

make --no-print-directory -C "$ROOT" uninstall DESTDIR="$D" PREFIX=/usr/local >"$TMP/out" 2>"$TMP/err"
if [ ! -e "$SHARE" ] && [ ! -e "$D/usr/local/bin/termloom" ] && [ ! -e "$D/usr/local/share/man/man1/termloom.1" ]; then
    ok uninstall_removes_all
else
    fail uninstall_removes_all "left: $(cd "$D" && find . -type f | head -5 | tr '\n' ' ')"
fi
