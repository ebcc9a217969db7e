# tests/sh/interop_cli.sh — termloom import / export from the command line.
# tests: 103
. "$(dirname "$0")/../lib.sh"
FX="${TERMLOOM_ROOT:-.}/tests/fixtures"
# md ARGS... : the text of an md export (its first line, saying which path, left out)
md() { "$T" export --format md "$@" -o - | sed 1d; }

# every import shape gives a session that loads again
for f in loom_nested loom_positions_int loom_legacy loom_bare_root loom_children_list loom_flat \
         miniloom bonsai loomsidian_one; do
    expect_exit "interop_import_$f" 0 "$T" import "$FX/$f.json" -o "$TMP/$f.session.json"
    check "interop_import_${f}_is_session" grep -q '"format":"termloom-session"' "$TMP/$f.session.json"
done
"$T" export --format md "$TMP/miniloom.session.json" -o "$TMP/mini.md"
check interop_miniloom_patched_text [ "$(sed 1d "$TMP/mini.md")" = "Once upon a time, there was a fox.
The end" ]

# loomsidian: several notes need --note; the error lists them and exits 2
expect_exit interop_loomsidian_ambiguous 2 "$T" import "$FX/loomsidian_multi.json" -o "$TMP/ls.json"
one_line_error interop_loomsidian_ambiguous_msg '"A.md", "B.md"'
check interop_loomsidian_ambiguous_nothing_written [ ! -e "$TMP/ls.json" ]
expect_exit interop_loomsidian_note 0 "$T" import "$FX/loomsidian_multi.json" --note B.md -o "$TMP/ls.json"
expect_exit interop_export_loomsidian_ambiguous 2 "$T" export --format md "$FX/loomsidian_multi.json" -o -
check interop_export_loomsidian_note [ "$(md --note A.md "$FX/loomsidian_multi.json")" = "Alpha" ]
check interop_loomsidian_note_text [ "$(md "$TMP/ls.json")" = "Beta gamma" ]

# md of the cursor's path and of --node; export reads an importable file directly
check interop_md_cursor [ "$(md "$FX/loom_nested.json")" = "The cat sat on the mat. It purred." ]
check interop_md_node [ "$(md --node 3 "$TMP/loom_nested.session.json")" = "The cat ran away." ]
expect_exit interop_md_missing_node 1 "$T" export --format md --node 42 "$TMP/loom_nested.session.json" -o -
one_line_error interop_md_missing_node_msg 'node 42 does not exist'
check interop_md_says_which_path [ "$("$T" export --format md --node 3 "$TMP/loom_nested.session.json" -o - | head -1)" = \
    "<!-- termloom: the path to node #3 (depth 1) -->" ]

# json export is the session itself
expect_exit interop_export_json 0 "$T" export --format json "$TMP/loom_nested.session.json" -o "$TMP/copy.json"
check interop_export_json_same [ "$(md "$TMP/copy.json")" = "The cat sat on the mat. It purred." ]

# loom export → import → same text; jsonl has one line per node and per token
expect_exit interop_export_loom 0 "$T" export --format loom "$TMP/loom_nested.session.json" -o "$TMP/back.loom.json"
check interop_export_loom_has_tokens grep -q '"generatedToken"' "$TMP/back.loom.json"
expect_exit interop_reimport_loom 0 "$T" import "$TMP/back.loom.json" -o "$TMP/again.json"
check interop_reimport_same_path [ "$(md "$TMP/again.json")" = "The cat sat on the mat. It purred." ]
"$T" export --format jsonl "$TMP/loom_nested.session.json" -o "$TMP/t.jsonl"
check interop_jsonl_lines [ "$(wc -l < "$TMP/t.jsonl")" -eq 10 ]
check interop_jsonl_tokens [ "$(grep -c '"type":"token"' "$TMP/t.jsonl")" -eq 6 ]

# dot: Graphviz accepts it
"$T" export --format dot "$TMP/loom_nested.session.json" -o "$TMP/t.dot"
if command -v dot >/dev/null 2>&1; then
    if dot -Tsvg "$TMP/t.dot" -o "$TMP/t.svg" 2>"$TMP/doterr" && grep -q '<svg' "$TMP/t.svg"; then
        ok interop_dot_graphviz
    else
        fail interop_dot_graphviz "$(head -c 300 "$TMP/doterr")"
    fi
    if "$T" export --format dot "$FX/miniloom.json" -o - | dot -Tsvg > "$TMP/m.svg" && grep -q '<svg' "$TMP/m.svg"; then
        ok interop_dot_pipe
    else
        fail interop_dot_pipe "dot rejected the piped export"
    fi
else
    skip interop_dot_graphviz "dot (graphviz) is not installed"; skip interop_dot_pipe "dot (graphviz) is not installed"
fi

# usage errors exit 2
expect_exit interop_usage_no_format 2 "$T" export "$TMP/copy.json" -o "$TMP/u.out"
expect_exit interop_usage_bad_format 2 "$T" export --format pdf "$TMP/copy.json" -o "$TMP/u.out"
one_line_error interop_usage_bad_format_msg "unknown format 'pdf'"
expect_exit interop_usage_no_output 2 "$T" export --format md "$TMP/copy.json"
expect_exit interop_usage_no_input 2 "$T" export --format md -o "$TMP/u.out"
expect_exit interop_usage_node_not_md 2 "$T" export --format dot --node 1 "$TMP/copy.json" -o "$TMP/u.out"
expect_exit interop_usage_import_no_output 2 "$T" import "$FX/bonsai.json"
expect_exit interop_usage_import_no_input 2 "$T" import -o "$TMP/u.out"
expect_exit interop_usage_import_option 2 "$T" import --bogus "$FX/bonsai.json" -o "$TMP/u.out"
check interop_usage_nothing_written [ ! -e "$TMP/u.out" ]

# bad input: exit 1, one line naming the file, the existing output untouched
for f in truncated unknown loom_cycle loom_duplicate loom_bad_text miniloom_bad_patch \
         loomsidian_dangling bonsai_bad; do
    echo sentinel > "$TMP/keep.json"
    expect_exit "interop_bad_$f" 1 "$T" import "$FX/bad/$f.json" -o "$TMP/keep.json"
    one_line_error "interop_bad_${f}_msg" "bad/$f.json: "
    check "interop_bad_${f}_untouched" [ "$(cat "$TMP/keep.json")" = sentinel ]
    expect_exit "interop_bad_export_$f" 1 "$T" export --format jsonl "$FX/bad/$f.json" -o "$TMP/keep.json"
    check "interop_bad_export_${f}_untouched" [ "$(cat "$TMP/keep.json")" = sentinel ]
done
expect_exit interop_missing_file 1 "$T" import "$TMP/nope.json" -o "$TMP/keep.json"
one_line_error interop_missing_file_msg 'nope.json: No such file'

# an imported tree is analysed before it is saved: its detected attractors are in the file
cat > "$TMP/rep.json" <<'JSON'
[{"id": "r", "text": "Q"},
 {"id": "a", "parent_id": "r", "text": " first"}, {"id": "b", "parent_id": "r", "text": " second"},
 {"id": "c", "parent_id": "r", "text": " third"},
 {"id": "a1", "parent_id": "a", "text": " That is all I can say."},
 {"id": "b1", "parent_id": "b", "text": " that is all i can say!"},
 {"id": "c1", "parent_id": "c", "text": " THAT is all I can say"}]
JSON
expect_exit interop_import_flat_repeats 0 "$T" import "$TMP/rep.json" -o "$TMP/rep.session.json"
check interop_import_saves_attractors grep -Eq \
    '"attractors":\[\{"kind":"continuation","members":\[[0-9]+,[0-9]+,[0-9]+\],"support":3,"score":6\.0,"expected":null,"p_value":null,"text":" That is all I can say\."\}\]' \
    "$TMP/rep.session.json"

# import never replaces the other loom's file: -o naming the input (or a link to it) is refused
cp "$FX/loom_nested.json" "$TMP/own.json"
ln -s "$TMP/own.json" "$TMP/own_link.json"
expect_exit interop_import_same_file 2 "$T" import "$TMP/own.json" -o "$TMP/own.json"
one_line_error interop_import_same_file_msg "same file"
expect_exit interop_import_same_file_link 2 "$T" import "$TMP/own.json" -o "$TMP/own_link.json"
check interop_import_same_file_untouched cmp -s "$TMP/own.json" "$FX/loom_nested.json"

# a malformed token costs its node's tokens, not the file: exit 0, one summary line on stderr
expect_exit interop_import_bad_token_kept 0 "$T" import "$FX/bad/loom_bad_token.json" -o "$TMP/badtok.json"
one_line_error interop_import_bad_token_summary 'tokens left out, .*generatedToken.token.*: 1 node \(first: node "c"\)'
check interop_import_bad_token_text grep -q '"text":" b"' "$TMP/badtok.json"

# dot numbers attractors from 1, as the TUI ("attractor 1/2") and stats list them
cat > "$TMP/attr.json" <<'JSON'
{"format": "termloom-session", "version": 1, "root": 0, "cursor": 0, "nodes": [
 {"id": 0, "parent": null, "origin": "prompt", "text": "Start", "children": [1, 2, 3]},
 {"id": 1, "parent": 0, "origin": "model", "text": " one path", "children": [4, 7]},
 {"id": 2, "parent": 0, "origin": "model", "text": " second road", "children": [5, 8]},
 {"id": 3, "parent": 0, "origin": "model", "text": " third way", "children": [6, 9]},
 {"id": 4, "parent": 1, "origin": "model", "text": " and that is all I can say about it.", "children": []},
 {"id": 5, "parent": 2, "origin": "model", "text": " And that is all I can say about it!", "children": []},
 {"id": 6, "parent": 3, "origin": "model", "text": " and that is all i can say about it", "children": []},
 {"id": 7, "parent": 1, "origin": "model", "text": " Then the cat sat on the warm mat today", "children": []},
 {"id": 8, "parent": 2, "origin": "model", "text": " Later a dog sat on the warm mat again", "children": []},
 {"id": 9, "parent": 3, "origin": "model", "text": " So my friend sat on the warm mat quietly", "children": []}
]}
JSON
"$T" export --format dot "$TMP/attr.json" -o "$TMP/attr.dot"
if [ "$(grep -c 'about it.*◆1"' "$TMP/attr.dot")" = 3 ] && [ "$(grep -c 'warm mat.*◆2"' "$TMP/attr.dot")" = 3 ] &&
   ! grep -q '◆0' "$TMP/attr.dot"; then
    ok interop_dot_attractors_from_1
else
    fail interop_dot_attractors_from_1 "$(grep '◆' "$TMP/attr.dot" | head -3 | tr '\n' '|')"
fi
