# A database whose servers use a connector defined with define_connector survives pg_dump and restore:
# the definition is dumped with the extension's data, the server (restored before it) is accepted, and the
# restored foreign table reads the provider. Run by tests/regress.sh (PGHOST, PGPORT, MOCK_URL, ROOT set).
set -euo pipefail
src=scenario_dump_src
dst=scenario_dump_dst
work="$(mktemp -d)"
for db in $src $dst; do
  psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
done
psql -X -q -d $src -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" -v acme="$(cat "$ROOT/tests/data/acme_shop.json")" >/dev/null <<'SQL'
CREATE EXTENSION connector_fdw;
SELECT connector_fdw.define_connector('acme_shop', :'acme');
\set shop_url :mock '/page'
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'acme_shop', base_url :'shop_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (api_key 'dump-test-key');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA acme_shop FROM SERVER shop INTO shop;
SQL
runuser -u postgres -- "$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres $src >"$work/dump.sql"
psql -X -q -d $dst -v ON_ERROR_STOP=1 -f "$work/dump.sql" >"$work/restore.out" 2>&1 \
  || { echo "the restore failed:"; cat "$work/restore.out"; exit 1; }
defined=$(psql -X -q -At -d $dst -c "SELECT version FROM connector_fdw.connectors WHERE name = 'acme_shop'")
[ "$defined" = "1.0.0" ] || { echo "the definition was not restored (got '$defined')"; exit 1; }
rows=$(psql -X -q -At -d $dst -c "SELECT count(*) FROM shop.customers WHERE country = 'DE'")
[ "$rows" -gt 0 ] || { echo "the restored table read no rows"; exit 1; }
if grep -qF "dump-test-key" "$work/dump.sql"; then echo "the dump holds the key in plain text"; exit 1; fi
for db in $src $dst; do psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null; done
rm -rf "$work"
echo "definition acme_shop $defined restored; the restored table read $rows rows"
