#!/bin/sh
# tests: 24
# termloom compare: usage errors are one clear line and exit 2, before anything is sampled.
. "$(dirname "$0")/../lib.sh"

expect_exit compare_bad_temperature 2 "$T" compare --a 'temperature=hot' --b 'temperature=0.2' --prompt x
one_line_error compare_bad_temperature_message "^termloom: --a: temperature: 'hot' is not a number from 0 to 10$"

expect_exit compare_temperature_out_of_range 2 "$T" compare --a '' --b 'temperature=11' --prompt x
one_line_error compare_temperature_out_of_range_message "^termloom: --b: temperature: '11' is not a number from 0 to 10$"

expect_exit compare_unknown_key 2 "$T" compare --a 'temprature=1' --b '' --prompt x
one_line_error compare_unknown_key_message "^termloom: --a: unknown setting 'temprature'$"

expect_exit compare_not_key_value 2 "$T" compare --a 'backend=builtin,temperature' --b '' --prompt x
one_line_error compare_not_key_value_message "^termloom: --a: 'temperature' is not key=value$"

expect_exit compare_bad_backend 2 "$T" compare --a '' --b 'backend=gpt5' --prompt x
one_line_error compare_bad_backend_message "^termloom: --b: backend: 'gpt5' is not one of"

expect_exit compare_missing_b 2 "$T" compare --a 'temperature=1' --prompt x
one_line_error compare_missing_b_message "compare needs --b SPEC"

expect_exit compare_missing_a 2 "$T" compare --b 'temperature=1' --prompt x
one_line_error compare_missing_a_message "compare needs --a SPEC"

expect_exit compare_missing_prompt 2 "$T" compare --a '' --b ''
one_line_error compare_missing_prompt_message "compare needs --prompt TEXT"

expect_exit compare_a_without_value 2 "$T" compare --prompt x --b '' --a
one_line_error compare_a_without_value_message "^termloom: --a needs a SPEC"

expect_exit compare_bad_n 2 "$T" compare --a '' --b '' --prompt x -n 0
one_line_error compare_bad_n_message "^termloom: -n: '0' is not a whole number from 1 to"

expect_exit compare_unknown_argument 2 "$T" compare --a '' --b '' --prompt x --frobnicate
one_line_error compare_unknown_argument_message "compare: unknown (argument|option) '--frobnicate'"

expect_exit compare_help 0 "$T" compare --help
check compare_help_text grep -q -- "--a SPEC --b SPEC --prompt TEXT" "$TMP/out"
