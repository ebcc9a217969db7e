#!/bin/sh
# tests: 4
# The command line: help, version.
. "$(dirname "$0")/../lib.sh"

expect_exit cli_help 0 "$T" --help
check cli_help_lists_options grep -q -- "--temperature" "$TMP/out"
expect_exit cli_version 0 "$T" --version
check cli_version_text grep -Eq '^termloom [0-9]+\.[0-9]+' "$TMP/out"
