#!/usr/bin/env bash
# The whole test suite: Rust unit tests, then the SQL tests (tests/sql/*.sql, compared with
# tests/expected/*.out) against a throwaway PostgreSQL 15 cluster and the mock API.
#
#   bash scripts/test.sh            everything
#   bash scripts/test.sh pushdown   only tests/sql/pushdown.sql (no unit tests, extension rebuilt)
#   bash scripts/test.sh webhooks   only tests/scenarios/webhooks.sh (a name with no SQL test is a scenario)
#   ACCEPT=1 bash scripts/test.sh … copy results over expected output (review the diff before committing)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_deps
build_and_install
if [ $# -eq 0 ]; then
  log "unit tests (connector_core, mockapi)"
  (cd "$ROOT" && cargo test --release -q -p connector_core -p mockapi 2>&1 | grep -E "^test result|FAILED|panicked|error" ) \
    || die "unit tests failed"
fi

trap 'stop_mock; stop_cluster' EXIT
# Preloaded: rate limits and concurrency are shared by all backends, connector_fdw.stats works, and
# pg_cron can schedule syncs.
start_cluster "shared_preload_libraries = 'connector_fdw,pg_cron'" "cron.database_name = 'postgres'" \
  "cron.use_background_workers = on"
start_mock
source "$ROOT/tests/regress.sh"
run_sql_tests "$@"
