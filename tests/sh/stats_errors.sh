#!/bin/sh
# tests: 87
# termloom stats: usage errors exit 2; unreadable or invalid sessions exit 1 with one line
# on stderr naming the file and the problem.
. "$(dirname "$0")/../lib.sh"

expect_exit stats_no_file 2 "$T" stats
one_line_error stats_no_file_message "^termloom: stats needs a SESSION.json"
expect_exit stats_unknown_flag 2 "$T" stats --frobnicate x.json
one_line_error stats_unknown_flag_message "unknown option '--frobnicate'"
expect_exit stats_two_files 2 "$T" stats a.json b.json
one_line_error stats_two_files_message "one session file at a time"
expect_exit stats_help 0 "$T" stats --help
check stats_help_text grep -q "stats \[--json\] SESSION.json" "$TMP/out"

expect_exit stats_missing_file 1 "$T" stats "$TMP/nope.json"
one_line_error stats_missing_file_message "nope.json: No such file or directory$"
expect_exit stats_directory 1 "$T" stats "$TMP"
one_line_error stats_directory_message "is a directory"

H='{"format":"termloom-session","version":1,"root":0,"nodes":['
R='{"id":0,"parent":null,"origin":"prompt","text":"p","children":'
bad() {   # bad NAME PATTERN CONTENT
    printf '%s' "$3" > "$TMP/$1.json"
    cp "$TMP/$1.json" "$TMP/$1.before"
    expect_exit "stats_bad_$1" 1 "$T" stats "$TMP/$1.json"
    one_line_error "stats_bad_$1_message" "^termloom: $TMP/$1.json: .*$2"
    check "stats_bad_$1_untouched" cmp -s "$TMP/$1.json" "$TMP/$1.before"
}
bad not_json "not valid JSON at line 2" "$(printf '{"format":\n"termloom-session",,}')"
bad wrong_format 'format is "other"' '{"format":"other","version":1}'
bad wrong_version "unsupported version 7" '{"format":"termloom-session","version":7,"root":0,"nodes":[]}'
bad missing_nodes "nodes is missing" '{"format":"termloom-session","version":1,"root":0}'
bad wrong_type "node 0: text is not a string" "$H"'{"id":0,"parent":null,"origin":"prompt","text":5,"children":[]}]}'
bad duplicate "duplicate node id 0" "$H$R"'[]},'"$R"'[]}]}'
bad dangling_parent "parent 4 is not a node" "$H$R"'[]},{"id":1,"parent":4,"origin":"model","text":"x","children":[]}]}'
bad dangling_child "child 3 is not a node" "$H$R"'[3]}]}'
bad two_parents "listed as a child of both 0 and 1" "$H$R"'[1,2]},{"id":1,"parent":0,"origin":"model","text":"x","children":[2]},{"id":2,"parent":0,"origin":"model","text":"y","children":[]}]}'
bad cycle "cycle" "$H$R"'[]},{"id":1,"parent":2,"origin":"model","text":"x","children":[2]},{"id":2,"parent":1,"origin":"model","text":"y","children":[1]}]}'
bad two_roots "two root nodes" "$H$R"'[]},{"id":1,"parent":null,"origin":"prompt","text":"q","children":[]}]}'
bad invalid_utf8 "invalid UTF-8" "$(printf '%s{"id":0,"parent":null,"origin":"prompt","text":"\377","children":[]}]}' "$H")"

# Saving to something that is not a regular file (a device such as /dev/null, a FIFO)
# writes to it in place: a rename would replace the node itself with a regular file.
# (Tested on a FIFO: a regression must not break this machine's /dev/null.)
"$T" gen --prompt "Dev" -n 2 --depth 1 --seed 1 -o "$TMP/dev.json" 2>"$TMP/err"
mkfifo "$TMP/fifo"
cat "$TMP/fifo" > "$TMP/from_fifo" &
"$T" export --format md "$TMP/dev.json" -o "$TMP/fifo" 2>"$TMP/err" || true
wait
check save_to_fifo_writes_through test -s "$TMP/from_fifo"
check save_to_fifo_keeps_the_fifo test -p "$TMP/fifo"

# Non-regular files: one line, exit 1, never a hang (a FIFO with no writer) or an abort
# (/dev/zero).  Every reader: stats, import, export, --prompt-file, --corpus, --config.
mkfifo "$TMP/in_fifo"
for f in "$TMP/in_fifo" /dev/zero /dev/urandom; do
    nm=$(basename "$f")
    expect_exit "stats_nonregular_$nm" 1 timeout 10 "$T" stats "$f"
    one_line_error "stats_nonregular_${nm}_msg" "not a regular file"
    expect_exit "import_nonregular_$nm" 1 timeout 10 "$T" import "$f" -o "$TMP/nr.json"
    one_line_error "import_nonregular_${nm}_msg" "not a regular file"
    expect_exit "export_nonregular_$nm" 1 timeout 10 "$T" export --format md "$f" -o -
    one_line_error "export_nonregular_${nm}_msg" "not a regular file"
    timeout 10 "$T" gen --prompt-file "$f" -o "$TMP/nr.json" 2>"$TMP/err"
    check "prompt_file_nonregular_$nm" [ $? -eq 1 ]      # a runtime error (was 2, usage)
    one_line_error "prompt_file_nonregular_${nm}_msg" "not a regular file"
    timeout 10 "$T" gen --config "$f" --prompt x -o "$TMP/nr.json" >/dev/null 2>"$TMP/err"
    check "config_nonregular_$nm" [ $? -ne 124 ]
    one_line_error "config_nonregular_${nm}_msg" "not a regular file"
done
check nonregular_no_output [ ! -e "$TMP/nr.json" ]
expect_exit import_directory 1 "$T" import "$TMP" -o "$TMP/nr.json"
one_line_error import_directory_msg "is a directory"
expect_exit export_directory 1 "$T" export --format md "$TMP" -o -
one_line_error export_directory_msg "is a directory"

# What stats prints from a session (attractor texts) never carries raw escape sequences.
ESCT='Hi\u001b]0;pwned\u0007 there\u001b[2J friend'
{
    printf '{"format":"termloom-session","version":1,"root":0,"nodes":[\n'
    printf '{"id":0,"parent":null,"origin":"prompt","text":"p","children":[1,2,3]},\n'
    for i in 1 2 3; do
        printf '{"id":%d,"parent":0,"origin":"model","text":"ctx %d","children":[%d]},\n' $i $i $((i + 3))
    done
    printf '{"id":4,"parent":1,"origin":"model","text":"%s","children":[]},\n' "$ESCT"
    printf '{"id":5,"parent":2,"origin":"model","text":"%s","children":[]},\n' "$ESCT"
    printf '{"id":6,"parent":3,"origin":"model","text":"%s","children":[]}]}\n' "$ESCT"
} > "$TMP/hostile.json"
"$T" stats "$TMP/hostile.json" > "$TMP/hostile.out" 2>"$TMP/err"
check stats_hostile_shows_text grep -q "friend" "$TMP/hostile.out"
check stats_hostile_no_escape [ "$(tr -d -c '\033\007' < "$TMP/hostile.out" | wc -c)" -eq 0 ]
