#!/bin/sh
# tests: 15
# tests/run.sh on fakes: a unit binary that kills itself in its third test, a script that
# stops early, one that reports a name twice, one that reuses a unit test's name, one without
# its "# tests: N" line, a skip.
# The closing line must count each test once, the crash and the missing tests as failures,
# and every test after the crash must still run.  Also the real unit binary's --list,
# --after and --started.
. "$(dirname "$0")/../lib.sh"
ROOT="${TERMLOOM_ROOT:?}"
F="$TMP/fake"
mkdir -p "$F/sh"

# The fake unit binary speaks the real one's options; fake_crash kills it (SIGKILL).
cat > "$F/unit" <<'EOF'
#!/bin/sh
list=; after=; started=
while [ $# -gt 0 ]; do
    case $1 in --list) list=1 ;; --after) after=$2; shift ;; --started) started=$2; shift ;; esac
    shift
done
names="fake_one fake_two fake_crash fake_four fake_fails"
skipping=${after:+1}; p=0; f=0
for n in $names; do
    if [ -n "$skipping" ]; then [ "$n" = "$after" ] && skipping=; continue; fi
    if [ -n "$list" ]; then echo "$n"; continue; fi
    [ -n "$started" ] && echo "$n" >> "$started"
    case $FAKE_ALL_OK$n in
        fake_crash) echo "FAIL fake_crash: a check failed first"; kill -9 $$ ;;
        fake_fails) echo "FAIL fake_fails: as it should"; f=$((f + 1)) ;;
        *) echo "ok $n"; p=$((p + 1)) ;;
    esac
done
[ -n "$list" ] && exit 0
echo "unit: $p passed, $f failed"
[ $f = 0 ]
EOF
chmod +x "$F/unit"
printf '#!/bin/sh\n# tests: 2\necho "ok a_one"; echo "ok a_two"\n' > "$F/sh/a.sh"
printf '#!/bin/sh\n# tests: 3\necho "ok early_one"; exit 0\necho "ok early_two"\n' > "$F/sh/early.sh"
printf '#!/bin/sh\n# tests: 2\necho "FAIL twice_x: bad"; echo "ok twice_x"; echo "ok twice_y"\n' > "$F/sh/twice.sh"
printf '#!/bin/sh\necho "ok nodecl_one"\n' > "$F/sh/nodecl.sh"
printf '#!/bin/sh\n# tests: 1\necho "ok fake_one"\n' > "$F/sh/clash.sh"
printf '#!/bin/sh\n# tests: 1\necho "skip s_one: no such tool"\n' > "$F/sh/skip.sh"

fake() { env TERMLOOM_UNIT="$F/unit" TERMLOOM_SH_TESTS="$F/sh/*.sh" "$@" sh "$ROOT/tests/run.sh" > "$TMP/run" 2>&1; }
# passed: fake_two fake_four a_one a_two early_one nodecl_one twice_y (7)
# failed: fake_crash fake_fails, early's two missing, twice_x, fake_one (unit and clash.sh),
# nodecl's declaration (7)
fake env -u CI; rc=$?
check runner_closing_line_counts_each_test_once [ "$(tail -n 1 "$TMP/run")" = "7 passed, 7 failed, 1 skipped" ]
check runner_fails_when_a_test_failed [ "$rc" = 1 ]
check runner_names_the_crashed_test grep -q '^FAIL fake_crash: the unit binary died (killed by signal 9' "$TMP/run"
check runner_resumes_after_the_crash sh -c "! grep -q 'listed by the unit binary but never reported' '$TMP/run'"
check runner_counts_missing_tests grep -q '^FAIL early.sh: 2 of its 3 tests never reported' "$TMP/run"
check runner_reports_a_name_twice grep -q '^FAIL twice_x: reported 2 times (FAIL, ok)' "$TMP/run"
check runner_reports_a_name_two_tests_share grep -q '^FAIL fake_one: reported 2 times (ok, ok)' "$TMP/run"
check runner_needs_the_declaration grep -q "^FAIL nodecl.sh: line 2 does not declare" "$TMP/run"
fake env CI=true
check runner_skips_fail_under_ci [ "$(tail -n 1 "$TMP/run")" = "7 passed, 8 failed" ]

# All well: the same binary without its crash (FAKE_ALL_OK), only the good script.
rm "$F/sh/early.sh" "$F/sh/twice.sh" "$F/sh/nodecl.sh" "$F/sh/skip.sh" "$F/sh/clash.sh"
fake env -u CI FAKE_ALL_OK=1; rc=$?
check runner_all_passed_exits_zero [ "$(tail -n 1 "$TMP/run")/$rc" = "7 passed, 0 failed/0" ]

# The real unit binary: --list names what a run reports, in order; --after resumes.
U="$(dirname "$TOOLS")/unit"
"$U" --list sse_ > "$TMP/list" 2>&1
"$U" --started "$TMP/started" sse_ > "$TMP/ran" 2>&1
awk '$1 == "ok" || $1 == "FAIL" { n = $2; sub(/:$/, "", n); print n }' "$TMP/ran" > "$TMP/ran.names"
nonempty_same() { [ -s "$1" ] && cmp -s "$1" "$2"; }
check unit_list_is_what_runs nonempty_same "$TMP/list" "$TMP/ran.names"
check unit_started_names_each_test nonempty_same "$TMP/list" "$TMP/started"
# --after the first: the same run less its first test.
"$U" --after "$(head -n 1 "$TMP/list")" sse_ > "$TMP/after" 2>&1
awk '$1 == "ok" || $1 == "FAIL" { n = $2; sub(/:$/, "", n); print n }' "$TMP/after" > "$TMP/after.names"
sed 1d "$TMP/list" > "$TMP/list.rest"
check unit_after_runs_the_tests_after_name nonempty_same "$TMP/list.rest" "$TMP/after.names"
expect_exit unit_after_unknown_name 2 "$U" --after no_such_test
one_line_error unit_after_unknown_name_message 'no_such_test: no test has that name'
