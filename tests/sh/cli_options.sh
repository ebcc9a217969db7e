#!/bin/sh
# tests: 29
# The command line as getopt_long reads it (cli/options.h): --opt=value and --opt value,
# -xVALUE, `--` ending the options, missing values, unknown and abbreviated options (one
# line naming the option, exit 2), whatever POSIXLY_CORRECT says.
. "$(dirname "$0")/../lib.sh"
ROOT="${TERMLOOM_ROOT:-.}"
FX="$ROOT/tests/fixtures"
md() { "$T" export --format md "$@" | sed 1d; }

expect_exit opts_session 0 "$T" import "$FX/loom_nested.json" -o "$TMP/s.json"
cp "$TMP/s.json" "$TMP/-s.json"
path_text=$(md "$TMP/s.json" -o -)

# `--` ends the options: a file whose name starts with '-' is an operand after it.
expect_exit opts_double_dash_stats 0 sh -c "cd '$TMP' && exec '$T' stats --json -- -s.json"
check opts_double_dash_stats_read grep -q '"nodes"' "$TMP/out"
check opts_double_dash_export [ "$(cd "$TMP" && md -o - -- -s.json)" = "$path_text" ]
expect_exit opts_double_dash_then_operand 2 "$T" gen --prompt x -o "$TMP/dd.json" -- --depth
one_line_error opts_double_dash_then_operand_msg "^termloom: gen: unknown argument '--depth'"

# A short option's value attached (-fmd, -o-) or after '=' (-o=-), as with long options.
check opts_short_attached [ "$(md -o- "$TMP/s.json")" = "$path_text" ]
check opts_short_attached_format [ "$("$T" export -fmd "$TMP/s.json" -o - | sed 1d)" = "$path_text" ]
check opts_short_equals [ "$(md -o=- "$TMP/s.json")" = "$path_text" ]

# --opt=value and --opt value alike, also -n=K, for gen's own options and the settings.
expect_exit opts_equals_gen 0 "$T" gen --backend=ngram --max-tokens=4 --prompt=x -n=2 --depth=1 -o="$TMP/e.json"
expect_exit opts_space_gen 0 "$T" gen --backend ngram --max-tokens 4 --prompt x -n 2 --depth 1 -o "$TMP/p.json"
check opts_equals_same_tree sh -c "grep -q '\"branches\":2' '$TMP/e.json' && [ \$(grep -c '\"origin\":\"model\"' '$TMP/e.json') = 2 ] &&
    [ \$(grep -c '\"origin\":\"model\"' '$TMP/p.json') = 2 ]"

# A value is a value even when it looks like an option: --prompt --config sets the prompt
# (the config file is not looked for at -o).
expect_exit opts_value_like_option 0 "$T" gen --backend ngram --max-tokens 4 -n 1 --prompt --config -o "$TMP/c.json"
check opts_value_like_option_prompt grep -q '"text":"--config"' "$TMP/c.json"

# Errors: one line naming the option, exit 2.
expect_exit opts_missing_value 2 "$T" gen --prompt x -o "$TMP/m.json" --depth
one_line_error opts_missing_value_msg "^termloom: --depth needs a value$"
expect_exit opts_unknown_with_value 2 "$T" gen --prompt x -o "$TMP/u.json" --frobnicate=3
one_line_error opts_unknown_with_value_msg "^termloom: gen: unknown option '--frobnicate' \(see termloom gen --help\)$"
expect_exit opts_no_value_taken 2 "$T" stats --json=yes "$TMP/s.json"
one_line_error opts_no_value_taken_msg "^termloom: --json takes no value"
expect_exit opts_abbreviation_refused 2 "$T" gen --prompt x -o "$TMP/a.json" --temp 0.5
one_line_error opts_abbreviation_refused_msg "^termloom: gen: unknown option '--temp' "
expect_exit opts_value_error_names_option 2 "$T" compare --a '' --b '' --prompt x --samples=0
one_line_error opts_value_error_names_option_msg "^termloom: --samples: '0' is not a whole number from 1 to"

# Options after operands, with or without POSIXLY_CORRECT.
expect_exit opts_posixly_correct 0 env POSIXLY_CORRECT=1 "$T" stats "$TMP/s.json" --json
check opts_posixly_correct_json grep -q '^{' "$TMP/out"

# cli/ runs without a terminal: nothing in it includes tui/ or curses.
check opts_cli_has_no_curses sh -c "[ -f '$ROOT/cli/options.h' ] && ! grep -nE '#include *[<\"](tui/|n?curses)' '$ROOT'/cli/*.[ch]"

# The interactive program reads the same table: flags typed win over an opened session's
# settings, the others stay the file's.
printf '# open the session and quit\n' > "$TMP/quit.keys"
expect_exit opts_tui_flags 0 env TERMLOOM_KEYS="$TMP/quit.keys" TERMLOOM_DATADIR="$ROOT" XDG_CONFIG_HOME="$TMP/none" \
    XDG_DATA_HOME="$TMP/none" LINES=30 COLUMNS=100 TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    "$T" --temperature=0.3 -n 5 "$TMP/p.json"
check opts_tui_flags_win grep -q '"branches":5,"max_tokens":4,"temperature":0.3,' "$TMP/p.json"
