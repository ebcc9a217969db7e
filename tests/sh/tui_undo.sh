#!/bin/sh
# tests: 5
# Undo (u) and redo (C-r) of every change: a generated batch is one step, and undo then
# redo gives back the very tree it took (the saved session file is compared byte for byte).
. tests/lib.sh
NAMES="tui_undo_batch tui_undo_mark tui_undo_edit tui_undo_fold tui_undo_nothing_lost"
if ! command -v tmux >/dev/null 2>&1; then
    for n in $NAMES; do skip "$n" "tmux is not installed"; done
    exit 0
fi
. tests/sh/tui_common.inc
S="$TMP/u.json"
# snap NAME : saves now (s) and keeps a copy of the session file as $TMP/NAME.
snap() { keys s && wait_for "saved $S" 5 && cp "$S" "$TMP/$1"; }
same() { cmp -s "$TMP/$1" "$TMP/$2"; }
differ() { ! cmp -s "$TMP/$1" "$TMP/$2"; }
tui_start 100 30 --backend ngram "$S"
wait_for 'Tree +1 nodes' 10

# A generation: its four branches are one step.
snap a0
keys Enter
if wait_for 'Tree +5 nodes' 15 && wait_gone 'branches,' 15 && snap a1 && differ a0 a1 &&
   keys u && wait_for 'Tree +1 nodes' 3 && snap a2 && same a0 a2 &&
   keys C-r && wait_for 'Tree +5 nodes' 3 && snap a3 && same a1 a3; then
    ok tui_undo_batch
else
    fail tui_undo_batch "$(why 'generate, u, C-r')"
fi

# A mark and a bookmark on a generated node: two steps.
keys l
snap m0
keys m
keys b
if snap m1 && differ m0 m1 && grep -q '"bookmark"\|"attractor"\|"marks"' "$TMP/m1" &&
   keys u && keys u && snap m2 && same m0 m2 && keys C-r && keys C-r && snap m3 && same m1 m3; then
    ok tui_undo_mark
else
    fail tui_undo_mark "$(why 'm b, u u, C-r C-r')"
fi

# An edit drops the node's tokens: undo brings them back exactly.
keys e
wait_for 'edit \(' 3
keys -l ' by hand'
keys Enter
if wait_for 'edited' 3 && snap e1 && differ m3 e1 && keys u && snap e2 && same m3 e2 &&
   keys C-r && snap e3 && same e1 e3; then
    ok tui_undo_edit
else
    fail tui_undo_edit "$(why 'e, u, C-r')"
fi

# A fold of the root.
keys Home
snap f0
keys z
if wait_for 'Tree +5 nodes' 2 && snap f1 && differ f0 f1 && grep -q '"folded": \{0,1\}true' "$TMP/f1" &&
   keys u && snap f2 && same f0 f2 && keys C-r && snap f3 && same f1 f3; then
    ok tui_undo_fold
else
    fail tui_undo_fold "$(why 'z, u, C-r')"
fi

# Undo everything, then redo everything: the tree comes back whole.
keys u u u u u u
if wait_for 'Tree +1 nodes' 3 && keys u && wait_for 'nothing to undo' 3 &&
   keys C-r C-r C-r C-r C-r C-r && wait_for 'nothing to redo' 3 && snap z1 && same f3 z1; then
    ok tui_undo_nothing_lost
else
    fail tui_undo_nothing_lost "$(why 'u x6 then C-r x6')"
fi
keys q
wait_exit 5
