#!/usr/bin/env bash
# The whole test suite: Rust unit tests, then for each PostgreSQL version (15, then 18) the SQL tests
# (tests/sql/*.sql, compared with tests/expected/*.out) and the scenarios (tests/scenarios/*.sh) against a
# throwaway cluster and the mock API.
#
#   bash scripts/test.sh            everything, on PostgreSQL 15 and 18 (first cargo fmt --check and clippy)
#   bash scripts/test.sh pushdown   only tests/sql/pushdown.sql (no unit tests, extension rebuilt)
#   bash scripts/test.sh webhooks   only tests/scenarios/webhooks.sh (a name with no SQL test is a scenario)
#   PG_VERSIONS=18 bash scripts/test.sh …   only on PostgreSQL 18 (or 15)
#   ACCEPT=1 bash scripts/test.sh … copy results over expected output (review the diff before committing)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_deps
if [ $# -eq 0 ]; then
  # Cheap checks first, so that a formatting slip or a lint fails in a minute, not after the build.
  log "formatting (cargo fmt --all --check)"
  (cd "$ROOT" && cargo fmt --all --check) || die "code is not formatted as rustfmt.toml says: run cargo fmt --all"
  log "lints (cargo clippy -D warnings)"
  # The release profile, as the unit tests and the extension build below, so its dependencies are shared.
  (cd "$ROOT" && cargo clippy --release -q --all-targets -p connector_core -p mockapi -- -D warnings) \
    || die "clippy found problems in connector_core or mockapi (listed above)"
  log "unit tests (connector_core, mockapi)"
  (cd "$ROOT" && cargo test --release -q -p connector_core -p mockapi 2>&1 | grep -E "^test result|FAILED|panicked|error" ) \
    || die "unit tests failed"
fi

trap 'stop_mock; stop_cluster' EXIT
for version in $PG_VERSIONS; do
  use_pg "$version"
  build_and_install
  # Preloaded: rate limits and concurrency are shared by all backends, connector_fdw.stats works, and
  # pg_cron can schedule syncs. pg_cron is packaged for PostgreSQL 15 only: scenarios marked "# needs:
  # pg_cron" are skipped on the others.
  if [ "$version" = 15 ]; then
    export PG_CRON=1
    start_cluster "shared_preload_libraries = 'connector_fdw,pg_cron'" "cron.database_name = 'postgres'" \
      "cron.use_background_workers = on"
  else
    unset PG_CRON
    start_cluster "shared_preload_libraries = 'connector_fdw'"
  fi
  start_mock
  source "$ROOT/tests/regress.sh"
  run_sql_tests "$@"
  stop_mock
  stop_cluster
done
