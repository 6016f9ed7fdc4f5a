# SQL tests in pg_regress style: each tests/sql/NAME.sql runs in a fresh database through
# `psql -X -a -q`, and its output must equal tests/expected/NAME.out. Then the scenarios
# (tests/scenarios/*.sh): checks that need more than one session's output, each exiting non-zero on
# failure. Sourced by scripts/test.sh, which has started the cluster (PGHOST/PGPORT) and the mock API
# (MOCK_URL) for one PostgreSQL version (PG_MAJOR, PG_BIN).
#
# Where a version's output legitimately differs, tests/expected/NAME_1.out is an accepted alternative
# (as in pg_regress); keep these few. A scenario with a line "# needs: pg_cron" is skipped when the cluster
# has no pg_cron (PG_CRON unset).
#
# psql variables given to every test: :'mock' (the mock API's URL), :'data' (a directory of test files
# readable by the server) and :'tests' (tests/ itself). Output has the mock's URL replaced by
# http://mock, the data directory by DATA and random key ids by KEYID.

run_sql_tests() {
  local results="$ROOT/tests/results" failed=() names=()
  rm -rf "$results"; mkdir -p "$results"
  local data="$CLUSTER_DIR/files"
  rm -rf "$data"; cp -r "$ROOT/tests/data" "$data"
  chown -R postgres:postgres "$data"
  local scenarios=()
  if [ $# -gt 0 ]; then
    # A name may be a SQL test or a scenario (tests/scenarios/NAME.sh).
    for name in "$@"; do
      if [ -f "$ROOT/tests/scenarios/$name.sh" ] && [ ! -f "$ROOT/tests/sql/$name.sql" ]; then
        scenarios+=("$ROOT/tests/scenarios/$name.sh")
      else names+=("$name"); fi
    done
  else
    for f in "$ROOT"/tests/sql/*.sql; do names+=("$(basename "$f" .sql)"); done
    scenarios=("$ROOT"/tests/scenarios/*.sh)
  fi
  for name in ${names[@]+"${names[@]}"}; do
    local sql="$ROOT/tests/sql/$name.sql" out="$results/$name.out" expected="$ROOT/tests/expected/$name.out"
    [ -f "$sql" ] || die "no test $sql"
    psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS \"test_$name\"" -c "CREATE DATABASE \"test_$name\"" >/dev/null
    local start=$SECONDS
    PGTZ=UTC PGDATESTYLE=ISO PGAPPNAME=regress psql -X -a -q -d "test_$name" \
      -v mock="$MOCK_URL" -v data="$data" -v tests="$ROOT/tests" <"$sql" >"$out.raw" 2>&1 || true
    # The mock's port, the data directory and generated key ids differ from run to run; PostgreSQL 18 prints
    # EXPLAIN ANALYZE's whole row counts with two decimals.
    sed -E -e "s#$MOCK_URL#http://mock#g" -e "s#$data#DATA#g" -e 's/(actual rows=[0-9]+)\.00 /\1 /g' \
      -e 's/does not decrypt with key [0-9a-f]{8}/does not decrypt with key KEYID/' "$out.raw" >"$out" && rm -f "$out.raw"
    local alternative="$ROOT/tests/expected/${name}_1.out"
    if [ -n "${ACCEPT:-}" ]; then
      if [ "$PG_MAJOR" != 15 ] && [ -f "$alternative" ]; then cp "$out" "$alternative"; else cp "$out" "$expected"; fi
    fi
    if [ -f "$expected" ] && { diff -u "$expected" "$out" >"$results/$name.diff" \
      || { [ -f "$alternative" ] && diff -u "$alternative" "$out" >/dev/null; }; }; then
      rm -f "$results/$name.diff"
      printf '  %-28s ok    (%ss)\n' "$name" $((SECONDS - start))
    else
      [ -f "$expected" ] || echo "(no expected output)" >"$results/$name.diff"
      printf '  %-28s FAILED (%ss)\n' "$name" $((SECONDS - start))
      failed+=("$name")
    fi
  done
  if [ ${#scenarios[@]} -gt 0 ]; then
    for scenario in "${scenarios[@]}"; do
      local name start=$SECONDS
      name="$(basename "$scenario" .sh)"
      if [ -z "${PG_CRON:-}" ] && grep -q "^# needs: pg_cron" "$scenario"; then
        printf '  %-28s skipped (no pg_cron for PostgreSQL %s)\n' "$name" "$PG_MAJOR"
        continue
      fi
      if (export ROOT MOCK_URL CLUSTER_DIR PG_MAJOR PG_BIN; bash "$scenario") >"$results/$name.log" 2>&1; then
        printf '  %-28s ok    (%ss) %s\n' "$name" $((SECONDS - start)) "$(tail -n 1 "$results/$name.log")"
      else
        printf '  %-28s FAILED (%ss)\n' "$name" $((SECONDS - start))
        cp "$results/$name.log" "$results/$name.diff"
        failed+=("$name")
      fi
    done
  fi
  if [ ${#failed[@]} -gt 0 ]; then
    for name in "${failed[@]}"; do echo "--- $name"; head -n 80 "$results/$name.diff"; done
    die "PostgreSQL $PG_MAJOR: ${#failed[@]} of ${#names[@]} SQL tests failed: ${failed[*]} (diffs in tests/results/)"
  fi
  log "all tests passed on PostgreSQL $PG_MAJOR"
}
