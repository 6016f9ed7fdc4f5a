# scripts/package.sh builds a Debian package for PostgreSQL 15 whose files sit where Debian's pg_config
# says; `dpkg -i` of it into a copy of the server tree that has no connector_fdw of its own gives a server on
# which CREATE EXTENSION works, reads the mock API, and knows the upgrade path from 0.1.0. Run by
# tests/regress.sh (PGHOST, PGPORT, MOCK_URL, ROOT, PG_MAJOR set); PostgreSQL 18's package is built by the
# same script but has no Debian server here to install into.
set -euo pipefail
if [ "$PG_MAJOR" != 15 ]; then echo "skipped: the package is installed and tried on PostgreSQL 15"; exit 0; fi
source "$ROOT/scripts/lib.sh"
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n 1)
work="$(mktemp -d /tmp/cfdw-deb.XXXXXX)"
trap 'stop_cluster; rm -rf "$work"' EXIT

PG_VERSIONS=15 bash "$ROOT/scripts/package.sh" >"$work/package.log" 2>&1 || { cat "$work/package.log"; exit 1; }
deb="$ROOT/target/packages/postgresql-15-connector-fdw_${version}_amd64.deb"
[ -f "$deb" ] || { echo "no $deb"; exit 1; }

# The paths are Debian's PostgreSQL 15's.
libdir=$(/usr/lib/postgresql/15/bin/pg_config --pkglibdir)
extdir=$(/usr/lib/postgresql/15/bin/pg_config --sharedir)/extension
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's#^\./#/#' | grep -v '/$' | sort >"$work/files"
printf '%s\n' "$libdir/connector_fdw.so" "$extdir/connector_fdw.control" "$extdir/connector_fdw--$version.sql" \
  "$extdir/connector_fdw--0.1.0--$version.sql" | sort >"$work/expected"
diff -u "$work/expected" "$work/files" || { echo "the package's files are not the expected ones (+ unexpected)"; exit 1; }
dpkg-deb -f "$deb" Depends | grep -q '\bpostgresql-15\b' || { echo "the package does not depend on postgresql-15"; exit 1; }

# A server tree without the extension, and dpkg -i into it (its own dpkg database: the server's package is
# not registered there, hence --force-depends).
root="$work/root"
mkdir -p "$root/usr/lib/postgresql" "$root/usr/share/postgresql" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
cp -a /usr/lib/postgresql/15 "$root/usr/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
rm -f "$root$libdir"/connector_fdw* "$root$extdir"/connector_fdw*
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-depends -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; exit 1; }
chmod -R a+rX "$work"

use_pg 15
PG_BIN="$root/usr/lib/postgresql/15/bin"
start_cluster
psql -X -q -At -d postgres -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" >"$work/out" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION connector_fdw;
SELECT extversion FROM pg_extension WHERE extname = 'connector_fdw';
SELECT source || ' -> ' || target FROM pg_extension_update_paths('connector_fdw') WHERE path IS NOT NULL ORDER BY 1;
CREATE SERVER mock FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock');
CREATE FOREIGN TABLE customers (id int, country text) SERVER mock OPTIONS (
  path '/page/customers', rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit',
  page_size '100');
SELECT count(*) FROM customers;
SQL
expected="$version
0.1.0 -> $version
2000"
[ "$(cat "$work/out")" = "$expected" ] || { echo "got:"; cat "$work/out"; echo "expected:"; echo "$expected"; exit 1; }
echo "$(basename "$deb"): $(wc -l <"$work/files") files at Debian's paths; installed with dpkg -i, CREATE EXTENSION $version read 2000 rows"
