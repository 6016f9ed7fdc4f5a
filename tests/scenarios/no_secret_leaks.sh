# Secrets never appear in the server log (at debug5), in EXPLAIN, errors or NOTICEs, in the stats view,
# or in pg_dump output. Run by tests/regress.sh with PGHOST, PGPORT, MOCK_URL, CLUSTER_DIR set.
set -euo pipefail
db=scenario_leaks
work="$(mktemp -d)"
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null

# Every credential this scenario uses: the mock's real ones and deliberately wrong ones.
secrets=(test-token s3cret test-key mock-secret canary-wrong-token-8a1f canary-wrong-key-3c9d canary-wrong-pw-77e2)
# ...and the forms they are sent or echoed in: Basic's base64 of user:password (the API's and the OAuth
# client's), and every character as a JSON \uXXXX escape (as the hostile mock echoes them).
secrets+=("$(printf %s alice:s3cret | base64 | tr -d =)" "$(printf %s mock-client:mock-secret | base64 | tr -d =)")
for secret in test-token s3cret test-key; do
  secrets+=("$(printf %s "$secret" | od -An -tx1 -v | tr -d ' \n' | sed 's/\(..\)/\\u00\1/g' | tr a-f A-F)")
done

# The mappings are created before logging is raised: the text of a CREATE USER MAPPING statement is the
# DBA's own input, which Postgres logs verbatim when log_statement asks for it (see the README).
psql -X -q -d $db -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" >"$work/setup.out" 2>&1 <<'SQL'
CREATE EXTENSION connector_fdw;
CREATE SERVER bearer FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'bearer', max_retries '0');
CREATE SERVER basic FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'basic', max_retries '0');
CREATE SERVER header_key FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', max_retries '0');
CREATE SERVER query_key FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', api_key_in 'query', max_retries '0');
\set token_url :mock '/oauth/token'
CREATE SERVER machine FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'oauth2', token_url :'token_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER bearer OPTIONS (token 'test-token');
CREATE USER MAPPING FOR CURRENT_USER SERVER basic OPTIONS (user 'alice', password 's3cret');
CREATE USER MAPPING FOR CURRENT_USER SERVER header_key OPTIONS (api_key 'test-key');
CREATE USER MAPPING FOR CURRENT_USER SERVER query_key OPTIONS (api_key 'test-key');
CREATE USER MAPPING FOR CURRENT_USER SERVER machine OPTIONS (client_id 'mock-client', client_secret 'mock-secret');
CREATE FOREIGN TABLE t_bearer (id int) SERVER bearer OPTIONS (path '/auth/bearer/plain/customers');
CREATE FOREIGN TABLE t_basic (id int) SERVER basic OPTIONS (path '/auth/basic/plain/customers');
CREATE FOREIGN TABLE t_header (id int) SERVER header_key OPTIONS (path '/auth/header/plain/customers');
CREATE FOREIGN TABLE t_query (id int) SERVER query_key OPTIONS (path '/auth/query/plain/customers');
CREATE FOREIGN TABLE t_oauth (id int) SERVER machine OPTIONS (path '/auth/oauth/plain/customers');
CREATE FOREIGN TABLE t_missing (id int) SERVER query_key OPTIONS (path '/auth/query/nowhere');
-- A hostile provider that echoes the request's headers and query: in rows, in a 200 text body, in a 401
-- body that is not UTF-8.
CREATE FOREIGN TABLE echo_bearer (id int, echo text, escaped text) SERVER bearer OPTIONS (path '/hostile/echo.json');
CREATE FOREIGN TABLE echo_basic (id int, echo text, escaped text) SERVER basic OPTIONS (path '/hostile/echo.json');
CREATE FOREIGN TABLE echo_header (id int, echo text, escaped text) SERVER header_key OPTIONS (path '/hostile/echo.json');
CREATE FOREIGN TABLE echo_query (id int, echo text, escaped text) SERVER query_key OPTIONS (path '/hostile/echo.json');
CREATE FOREIGN TABLE echo_oauth (id int, echo text, escaped text) SERVER machine OPTIONS (path '/hostile/echo.json');
CREATE FOREIGN TABLE text_bearer (id int) SERVER bearer OPTIONS (path '/hostile/echo/200');
CREATE FOREIGN TABLE text_basic (id int) SERVER basic OPTIONS (path '/hostile/echo/200');
CREATE FOREIGN TABLE text_header (id int) SERVER header_key OPTIONS (path '/hostile/echo/200');
CREATE FOREIGN TABLE text_query (id int) SERVER query_key OPTIONS (path '/hostile/echo/200');
CREATE FOREIGN TABLE text_oauth (id int) SERVER machine OPTIONS (path '/hostile/echo/200');
CREATE FOREIGN TABLE bin_bearer (id int) SERVER bearer OPTIONS (path '/hostile/echo.bin/401');
CREATE FOREIGN TABLE bin_basic (id int) SERVER basic OPTIONS (path '/hostile/echo.bin/401');
CREATE FOREIGN TABLE bin_query (id int) SERVER query_key OPTIONS (path '/hostile/echo.bin/401');
SQL

log_start=$(stat -c %s "$CLUSTER_DIR/server.log")
psql -X -q -d postgres -c "ALTER SYSTEM SET log_min_messages = 'debug5'" -c "ALTER SYSTEM SET log_error_verbosity = 'verbose'" \
  -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
psql -X -d $db -v mock="$MOCK_URL" >"$work/use.out" 2>&1 <<'SQL'
\set VERBOSITY verbose
SET client_min_messages = debug5;
SELECT count(*) FROM t_bearer;
SELECT count(*) FROM t_basic;
SELECT count(*) FROM t_header;
SELECT count(*) FROM t_query;
SELECT count(*) FROM t_oauth;
EXPLAIN (ANALYZE, VERBOSE) SELECT count(*) FROM t_query;
EXPLAIN (ANALYZE, VERBOSE) SELECT count(*) FROM t_oauth;
SELECT count(*) FROM t_missing;
SELECT * FROM connector_fdw.stats;
SELECT srvname, umoptions FROM pg_user_mappings;
-- The API proxy, answered and refused.
SELECT status, jsonb_array_length(body) FROM connector_fdw.request_full('query_key', 'GET', '/auth/query/plain/customers');
SELECT connector_fdw.request('query_key', 'GET', '/auth/query/nowhere', query => '{"q": "x"}');
SELECT connector_fdw.request('machine', 'GET', '/auth/oauth/nowhere');
-- The hostile provider's echoes.
SELECT * FROM echo_bearer;
SELECT * FROM echo_basic;
SELECT * FROM echo_header;
SELECT * FROM echo_query;
SELECT * FROM echo_oauth;
SELECT * FROM text_bearer;
SELECT * FROM text_basic;
SELECT * FROM text_header;
SELECT * FROM text_query;
SELECT * FROM text_oauth;
SELECT * FROM bin_bearer;
SELECT * FROM bin_basic;
SELECT * FROM bin_query;
SELECT connector_fdw.request('basic', 'GET', '/hostile/echo/200');
SELECT connector_fdw.request('query_key', 'GET', '/hostile/echo.json');
SELECT * FROM connector_fdw.request_full('machine', 'GET', '/hostile/echo.bin/401');
SELECT * FROM connector_fdw.request_full('header_key', 'GET', '/hostile/echo/401');
-- Wrong credentials: errors with the provider's answer.
ALTER USER MAPPING FOR CURRENT_USER SERVER bearer OPTIONS (SET token 'canary-wrong-token-8a1f');
ALTER USER MAPPING FOR CURRENT_USER SERVER query_key OPTIONS (SET api_key 'canary-wrong-key-3c9d');
ALTER USER MAPPING FOR CURRENT_USER SERVER basic OPTIONS (SET password 'canary-wrong-pw-77e2');
SELECT count(*) FROM t_bearer;
SELECT count(*) FROM t_query;
SELECT count(*) FROM t_basic;
EXPLAIN (ANALYZE, VERBOSE) SELECT count(*) FROM t_query;
SELECT connector_fdw.request('query_key', 'GET', '/auth/query/plain/customers');
SELECT * FROM connector_fdw.request_full('bearer', 'GET', '/auth/bearer/plain/customers');
SQL
psql -X -q -d postgres -c "ALTER SYSTEM RESET log_min_messages" -c "ALTER SYSTEM RESET log_error_verbosity" \
  -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
tail -c +"$((log_start + 1))" "$CLUSTER_DIR/server.log" >"$work/server.log"
runuser -u postgres -- "$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres "$db" >"$work/dump.sql"

# The checks mean something only if the workload ran: debug output was logged, queries returned rows,
# errors happened, and the dump holds the mappings.
grep -q "DEBUG:" "$work/server.log" || { echo "no debug output was logged"; exit 1; }
grep -q " 2000$" "$work/use.out" || { echo "the queries returned no rows"; cat "$work/use.out"; exit 1; }
grep -q "401 Unauthorized" "$work/use.out" || { echo "the wrong credentials were not refused"; exit 1; }
grep -q "authorization: Bearer REDACTED" "$work/use.out" || { echo "the hostile echoes did not run"; exit 1; }
grep -q "CREATE USER MAPPING" "$work/dump.sql" || { echo "the dump holds no user mapping"; exit 1; }
leaks=0
for secret in "${secrets[@]}"; do
  for file in server.log use.out dump.sql; do
    if grep -qF -- "$secret" "$work/$file"; then
      echo "LEAK: \"$secret\" appears in $file:"; grep -nF -- "$secret" "$work/$file" | head -3
      leaks=$((leaks + 1))
    fi
  done
done
# OAuth tokens the mock issued (mock-access-N, mock-refresh-N) must not appear either.
for file in server.log use.out dump.sql; do
  if grep -qE "mock-(access|refresh)-[0-9]+" "$work/$file"; then
    echo "LEAK: an OAuth token appears in $file"; leaks=$((leaks + 1))
  fi
done
echo "checked ${#secrets[@]} secrets and OAuth tokens in $(wc -l <"$work/server.log") debug5 log lines, $(wc -l <"$work/use.out") lines of output and a $(wc -l <"$work/dump.sql")-line dump: $leaks leaks"
psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null
rm -rf "$work"
[ "$leaks" -eq 0 ]
