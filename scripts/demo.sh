#!/usr/bin/env bash
# The demo: installs what is missing, builds and installs connector_fdw, starts a throwaway PostgreSQL 15
# cluster (as user postgres, on a free loopback port) and the bundled demo API, then runs examples/demo.sql.
#
#   bash scripts/demo.sh            run the demo and clean up
#   KEEP=1 bash scripts/demo.sh     leave the cluster and the API running to explore (prints how to connect)
PG_VERSIONS="${PG_VERSIONS:-15}"   # the first one listed is used
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_deps
build_and_install
[ -n "${KEEP:-}" ] && export KEEP_CLUSTER=1
[ -n "${KEEP:-}" ] || trap 'stop_mock; stop_cluster' EXIT
start_cluster "shared_preload_libraries = 'connector_fdw'"
start_mock
people="$CLUSTER_DIR/people.csv"
cp "$ROOT/tests/data/people.csv" "$people" && chown postgres "$people"
psql -X -a -q -d postgres -v api="$MOCK_URL" -v people="$people" -f "$ROOT/examples/demo.sql" 2>&1 \
  | sed -e 's/^psql:[^:]*:[0-9]*: //'
if [ -n "${KEEP:-}" ]; then
  cat <<MSG

The cluster and the demo API are still running:
  psql -h 127.0.0.1 -p $PGPORT -U postgres postgres
Stop them with:
  kill $MOCK_PID; runuser -u postgres -- $PG_BIN/pg_ctl -D $CLUSTER_DIR/data stop; rm -rf $CLUSTER_DIR
MSG
fi
