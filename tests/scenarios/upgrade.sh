# ALTER EXTENSION connector_fdw UPDATE from the released 0.1.0 (sql/connector_fdw--0.1.0.sql, frozen as it
# was installed) keeps the user's data (definitions, sync_state, sync_runs, webhook_events) and leaves exactly
# the schema a fresh install of the current version has. The schemas are compared as pg_dump
# --schema-only --binary-upgrade output (which lists every member of the extension, with its columns,
# defaults, constraints, policies, grants and function bodies), OIDs removed: a schema change that the
# upgrade script misses fails here with the diff. Run by tests/regress.sh (PGHOST, PGPORT, MOCK_URL, ROOT,
# PG_BIN set).
set -euo pipefail
old=0.1.0
new=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
upgraded=scenario_upgrade_old
fresh=scenario_upgrade_new
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# cargo pgrx install ships the current install script and the upgrade scripts; the old install script only
# lives in the repository.
install -m 0644 "$ROOT/sql/connector_fdw--$old.sql" "$("$PG_BIN/pg_config" --sharedir)/extension/"
for db in $upgraded $fresh; do
  psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
done
psql -X -q -d $upgraded -v ON_ERROR_STOP=1 -c "CREATE EXTENSION connector_fdw VERSION '$old'"
psql -X -q -d $fresh -v ON_ERROR_STOP=1 -c "CREATE EXTENSION connector_fdw"

# The same user objects and data in both databases (through 0.1.0's API only), so that their dumps differ in
# the extension's objects only.
for db in $upgraded $fresh; do
  psql -X -q -d $db -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" -v acme="$(cat "$ROOT/tests/data/acme_shop.json")" >/dev/null <<'SQL'
SET client_min_messages = warning;
SELECT connector_fdw.define_connector('acme_shop', :'acme');
\set shop_url :mock '/page'
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'acme_shop', base_url :'shop_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (api_key 'upgrade-test-key');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA acme_shop FROM SERVER shop INTO shop;
CREATE SERVER mock FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock');
CREATE FOREIGN TABLE remote_customers (id int, name text, country text, updated_at timestamptz)
  SERVER mock OPTIONS (path '/n/30/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '10');
SELECT status FROM connector_fdw.sync('remote_customers', 'local_customers', key => '{id}', cursor_column => 'updated_at');
SELECT status FROM connector_fdw.sync('remote_customers', 'local_customers', key => '{id}', cursor_column => 'updated_at');
INSERT INTO connector_fdw.webhook_events (server, event_id, event_type, payload)
  VALUES ('shop', 'evt_1', 'customer.updated', '{"id": 1}');
SQL
done

# Every row of the extension's tables that hold user data, in a stable order.
user_data() {
  psql -X -q -At -d "$1" -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'definitions', name, version, definition, defined_at, defined_by FROM connector_fdw.definitions ORDER BY name, version;
SELECT 'sync_state', s.* FROM connector_fdw.sync_state s ORDER BY target;
SELECT 'sync_runs', r.* FROM connector_fdw.sync_runs r ORDER BY run_id;
SELECT 'webhook_events', e.* FROM connector_fdw.webhook_events e ORDER BY server, event_id;
SELECT 'next run_id', last_value FROM connector_fdw.sync_runs_run_id_seq;
SQL
}
user_data $upgraded >"$work/before"
[ "$(grep -c '^sync_runs|' "$work/before")" = 2 ] && grep -q '^sync_state|' "$work/before" \
  && grep -q '^definitions|acme_shop|' "$work/before" || { echo "the setup left no data to keep:"; cat "$work/before"; exit 1; }

psql -X -q -d $upgraded -v ON_ERROR_STOP=1 -c "ALTER EXTENSION connector_fdw UPDATE"
version=$(psql -X -q -At -d $upgraded -c "SELECT extversion FROM pg_extension WHERE extname = 'connector_fdw'")
[ "$version" = "$new" ] || { echo "ALTER EXTENSION UPDATE went to '$version', not $new"; exit 1; }

user_data $upgraded >"$work/after"
diff -u "$work/before" "$work/after" || { echo "the update changed the user's data (- before, + after)"; exit 1; }
# The schemas: binary-upgrade dumps name each member of the extension. What differs between two databases
# anyway is dropped: OIDs, transaction ids, the dump's random \restrict key, and encrypted secrets (random
# nonces).
schema() {
  local extra=()
  [ "$PG_MAJOR" -lt 18 ] || extra=(--no-statistics)
  runuser -u postgres -- "$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres --schema-only --binary-upgrade \
    ${extra[@]+"${extra[@]}"} "$1" \
    | grep -v -e '^\\restrict ' -e '^\\unrestrict ' -e 'binary_upgrade_set_next_' \
    | sed -E -e 's/[0-9]{5,}/<oid>/g' -e "s/relfrozenxid = '[0-9]+', relminmxid = '[0-9]+'/relfrozenxid = <xid>/" \
      -e "s/'cfdw[0-9]:[^']*'/<encrypted>/g"
}
schema $upgraded >"$work/upgraded.sql"
schema $fresh >"$work/fresh.sql"
grep -q "CREATE TABLE connector_fdw.sync_runs" "$work/fresh.sql" \
  || { echo "the dump does not list the extension's objects"; exit 1; }
if ! diff -u --label "fresh install of $new" --label "$old updated to $new" "$work/fresh.sql" "$work/upgraded.sql" \
  >"$work/schema.diff"; then
  echo "the schema after ALTER EXTENSION UPDATE from $old differs from a fresh $new install;"
  echo "sql/connector_fdw--$old--$new.sql misses these changes (- fresh install, + upgraded):"
  cat "$work/schema.diff"
  exit 1
fi
# The upgraded extension still works: a new run on the synced table, recorded after the old ones.
psql -X -q -At -d $upgraded -v ON_ERROR_STOP=1 >"$work/run" <<'SQL'
SELECT status FROM connector_fdw.sync('remote_customers', 'local_customers', key => '{id}', cursor_column => 'updated_at');
SELECT count(*) FROM connector_fdw.sync_runs;
SQL
[ "$(tr '\n' ' ' <"$work/run")" = "succeeded 3 " ] || { echo "a sync after the update gave: $(cat "$work/run")"; exit 1; }

for db in $upgraded $fresh; do psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null; done
echo "$old -> $new: data kept ($(wc -l <"$work/after") rows), schema equal to a fresh install ($(grep -c '^CREATE' "$work/fresh.sql") CREATE statements)"
