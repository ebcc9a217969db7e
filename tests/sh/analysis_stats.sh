#!/bin/sh
# tests: 14
# termloom stats: near-duplicate groups and detected attractors, on a session written by
# hand (SPEC §6), through the real binary.
. "$(dirname "$0")/../lib.sh"

# 0 the prompt; 1-3 three spellings of one answer; 5,6,8,9 one refusal under four parents
# at depths 1..3; 10-12 a phrase inside three different continuations; 13/14 similarity 0.75.
node() {  # id parent text children
    printf '{"id": %s, "parent": %s, "origin": "%s", "text": "%s", "children": [%s]}' \
        "$1" "$2" "$([ "$2" = null ] && echo prompt || echo model)" "$3" "$4"
}
{
    printf '{"format": "termloom-session", "version": 1, "root": 0, "cursor": 0, "nodes": [\n'
    node 0 null "Question?" "1, 2, 3, 4"; printf ',\n'
    node 1 0 " Yes." "5"; printf ',\n'
    node 2 0 " yes!" "7"; printf ',\n'
    node 3 0 " YES" "9"; printf ',\n'
    node 4 0 " No." "6"; printf ',\n'
    node 5 1 " I cannot help with that." "10"; printf ',\n'
    node 6 4 " i cannot help with that!" "11"; printf ',\n'
    node 7 2 " Tell me more." "8, 13, 14"; printf ',\n'
    node 8 7 " I CANNOT help with that" "12"; printf ',\n'
    node 9 3 " I cannot help with that, sorry." ""; printf ',\n'
    node 10 5 " Well, the meaning of life is simple: eat cake." ""; printf ',\n'
    node 11 6 " Honestly the meaning of life is simple, friend." ""; printf ',\n'
    node 12 8 " They say the Meaning of Life is simple indeed." ""; printf ',\n'
    node 13 7 " The answer is 4" ""; printf ',\n'
    node 14 7 " The answer is 5" ""; printf '\n]}\n'
} > "$TMP/s.json"

expect_exit stats_json_runs 0 "$T" stats --json "$TMP/s.json"
tr -d ' \n' < "$TMP/out" > "$TMP/c"
check stats_groups grep -q '"groups":\[{"parent":0,"members":\[1,2,3\]}\]' "$TMP/c"
# support counts contexts: 5 and 9 grew under " Yes." and " YES", one context once
# normalized; 6 under " No.", 8 under " yes!" / " Tell me more." — 3 contexts, 4 members.
check stats_continuation_attractor \
    grep -q '"attractors":\[{"kind":"continuation","members":\[5,6,8,9\],"support":3,"score":6\.0*,"expected":null,"p_value":null,"text":"Icannothelpwiththat\."}' "$TMP/c"
check stats_phrase_attractor \
    grep -q '{"kind":"phrase","members":\[10,11,12\],"support":3,"score":6\.0*,"expected":[0-9.e-]*,"p_value":[0-9.e-]*,"text":"themeaningoflifeissimple"}\]' "$TMP/c"
check stats_branch_entropy_over_groups grep -q '"grouping":"near-duplicates' "$TMP/c"

# The threshold changes the grouping as documented: 0.75 similarity joins at 0.7.
expect_exit stats_threshold_runs 0 "$T" stats --json --merge-threshold 0.7 "$TMP/s.json"
tr -d ' \n' < "$TMP/out" > "$TMP/c"
check stats_threshold_groups grep -q '"groups":\[{"parent":0,"members":\[1,2,3\]},{"parent":7,"members":\[13,14\]}\]' "$TMP/c"
expect_exit stats_threshold_one 0 "$T" stats --json --merge-threshold 1 "$TMP/s.json"
tr -d ' \n' < "$TMP/out" > "$TMP/c"
check stats_threshold_one_groups grep -q '"groups":\[{"parent":0,"members":\[1,2,3\]}\]' "$TMP/c"

# The text report lists them too.
expect_exit stats_text_runs 0 "$T" stats "$TMP/s.json"
check stats_text_attractor grep -q 'I cannot help with that\.' "$TMP/out"
check stats_text_phrase grep -q 'the meaning of life is simple' "$TMP/out"

expect_exit stats_bad_threshold 2 "$T" stats --merge-threshold lots "$TMP/s.json"
one_line_error stats_bad_threshold_message 'merge-threshold'
