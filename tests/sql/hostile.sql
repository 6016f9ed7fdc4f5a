-- A hostile provider: it echoes the credentials it was sent (as text, JSON escapes, bytes that are not
-- UTF-8), redirects elsewhere, and answers with more than memory should hold. No credential comes back in
-- any form, none is sent off the server's origin, and no answer is read past max_response_bytes.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER hostile FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'bearer', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER hostile OPTIONS (token 'SEKRET-bearer-1f4e');
CREATE SERVER hostile_basic FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'basic', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER hostile_basic OPTIONS (user 'alice', password 'pw-SEKRET-basic-2b');
CREATE SERVER hostile_query FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', api_key_in 'query', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER hostile_query OPTIONS (api_key 'SEKRET key/3c+=');

-- A 200 text/plain body where JSON was expected, a 401 and a 400 whose bodies are not UTF-8: the errors
-- quote them without the credential.
CREATE FOREIGN TABLE echo_text (id int) SERVER hostile OPTIONS (path '/hostile/echo/200');
SELECT * FROM echo_text;
CREATE FOREIGN TABLE echo_401 (id int) SERVER hostile OPTIONS (path '/hostile/echo/401');
SELECT * FROM echo_401;
CREATE FOREIGN TABLE echo_bin (id int) SERVER hostile_basic OPTIONS (path '/hostile/echo.bin/400');
SELECT * FROM echo_bin;
CREATE FOREIGN TABLE echo_query (id int) SERVER hostile_query OPTIONS (path '/hostile/echo/403');
SELECT * FROM echo_query;
-- The credential straddles the 300th character of the provider's message: scrubbed before it is cut.
CREATE FOREIGN TABLE echo_long (id int) SERVER hostile OPTIONS (path '/hostile/echo/500/pad/270');
SELECT * FROM echo_long;

-- Rows that echo the credential, as sent and with every character a \uXXXX escape.
CREATE FOREIGN TABLE echo_rows (id int, echo text, escaped text) SERVER hostile OPTIONS (path '/hostile/echo.json');
SELECT id, echo, escaped = echo AS same FROM echo_rows;
CREATE FOREIGN TABLE echo_rows_basic (id int, echo text, escaped text) SERVER hostile_basic OPTIONS (path '/hostile/echo.json');
SELECT echo, escaped = echo AS same,
       position(encode(convert_to('alice:pw-SEKRET-basic-2b', 'UTF8'), 'base64') IN echo) AS base64_at
FROM echo_rows_basic;
CREATE FOREIGN TABLE echo_rows_query (id int, echo text, escaped text) SERVER hostile_query OPTIONS (path '/hostile/echo.json');
SELECT echo, escaped = echo AS same FROM echo_rows_query;

-- The API proxy: bodies and headers as returned.
SELECT connector_fdw.request('hostile', 'GET', '/hostile/echo/200');
SELECT status, body FROM connector_fdw.request_full('hostile_basic', 'GET', '/hostile/echo.bin/401');
SELECT connector_fdw.request('hostile_query', 'GET', '/hostile/echo.json');

-- A sync run's message and a push's failures.
SELECT status, message FROM connector_fdw.sync('echo_401', 'local_echo', key => '{id}', mode => 'full');
SELECT message FROM connector_fdw.sync_runs WHERE target = 'public.local_echo';
CREATE FOREIGN TABLE echo_push (id int, name text) SERVER hostile OPTIONS (path '/hostile/echo/422');
SELECT rows_sent, rows_failed, failures FROM connector_fdw.push('echo_push', $$SELECT 1 AS id, 'x' AS name$$);

-- Redirects are followed within the server's origin only: `localhost` is another origin than the
-- `127.0.0.1` of base_url, so that redirect is not followed and the key never leaves.
CREATE SERVER keyed FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (api_key 'test-key');
CREATE FOREIGN TABLE moved (id int) SERVER keyed OPTIONS (path '/hostile/redirect/same/auth/header/plain/customers');
SELECT count(*) FROM moved;
CREATE FOREIGN TABLE away (id int) SERVER keyed OPTIONS (path '/hostile/redirect/localhost/auth/header/plain/customers');
SELECT reset_mock();
\set VERBOSITY terse
SELECT count(*) FROM away;
\set VERBOSITY default
SELECT count(*) AS followed FROM mock_requests WHERE path = '/auth/header/plain/customers';
SELECT count(*) AS followed_by_the_proxy FROM connector_fdw.request_full('keyed', 'GET', '/hostile/redirect/localhost/x') r
  WHERE r.status <> 302;
SELECT count(*) AS sent_elsewhere FROM mock_requests WHERE path = '/x';

-- Bodies past max_response_bytes fail as they arrive, counted after decompression: a gzip of a few KB
-- that expands to 8 MiB against a limit of 1 MiB, a plain 2 MiB body, and the default limit of 64 MiB
-- against 100 MiB.
CREATE SERVER small FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', max_response_bytes '1048576', max_retries '0');
CREATE FOREIGN TABLE small_bomb (id int) SERVER small OPTIONS (path '/hostile/gzip/8192');
SELECT * FROM small_bomb;
CREATE FOREIGN TABLE small_big (id int) SERVER small OPTIONS (path '/hostile/big/2048');
SELECT * FROM small_big;
CREATE FOREIGN TABLE small_fits (id int) SERVER small OPTIONS (path '/hostile/gzip/512');
SELECT * FROM small_fits;
CREATE FOREIGN TABLE bomb (id int) SERVER mock OPTIONS (path '/hostile/gzip/102400');
SELECT * FROM bomb;
ALTER SERVER small OPTIONS (SET max_response_bytes '0');
ALTER SERVER small OPTIONS (SET max_response_bytes 'lots');
