-- Failed requests and bad responses: a clear ERROR with a fitting SQLSTATE that names the (redacted)
-- request, never a crash; the session stays usable.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER strict FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', max_retries '0', timeout_ms '500');

CREATE FOREIGN TABLE missing (id int) SERVER strict OPTIONS (path '/nowhere');
SELECT * FROM missing;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE failing (id int) SERVER strict OPTIONS (path '/fault/500/always/plain/customers');
SELECT * FROM failing;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE refusing (id int) SERVER strict OPTIONS (path '/plain/customers', query 'colour=red');
SELECT * FROM refusing;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE html (id int) SERVER strict OPTIONS (path '/fault/notjson/always/plain/customers');
SELECT * FROM html;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE truncated (id int) SERVER strict OPTIONS (path '/fault/truncate/always/plain/customers');
SELECT * FROM truncated;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE cut_off (id int) SERVER strict OPTIONS (path '/fault/reset/always/plain/customers');
SELECT * FROM cut_off;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE silent (id int) SERVER strict OPTIONS (path '/fault/hang/always/plain/customers');
SELECT * FROM silent;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE wrong_shape (id int) SERVER strict OPTIONS (path '/page/customers', rows '$.items[*]');
SELECT * FROM wrong_shape;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE wrong_type (name int) SERVER strict OPTIONS (path '/page/customers', rows '$.data[*]');
SELECT * FROM wrong_type;
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER nowhere FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url 'http://127.0.0.1:1', max_retries '0');
CREATE FOREIGN TABLE unreachable (id int) SERVER nowhere OPTIONS (path '/x');
SELECT * FROM unreachable;
\echo :LAST_ERROR_SQLSTATE
SELECT 'still healthy' AS session;

-- Within the retry budget a flaky provider gives the same result as a healthy one. (count(id) reads every
-- page; count(*) would be one request for the total.)
CREATE SERVER patient FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', max_retries '2');
CREATE FOREIGN TABLE flaky (id int) SERVER patient OPTIONS (
  path '/fault/503/2/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100', total_path '$.total');
SELECT reset_mock();
SELECT count(*), count(DISTINCT id), sum(id) FROM flaky;
SELECT count(*) AS requests, count(DISTINCT query) AS pages FROM mock_requests;
-- Beyond it, an error that says how often it was tried.
ALTER SERVER patient OPTIONS (SET max_retries '1');
SELECT reset_mock();
SELECT count(id) FROM flaky;
\echo :LAST_ERROR_SQLSTATE
-- The scan as a whole has a retry budget too, so a failing provider is not hammered page after page.
ALTER SERVER patient OPTIONS (SET max_retries '2', ADD max_scan_retries '3', ADD max_concurrency '1');
SELECT reset_mock();
SELECT count(id) FROM flaky;
SELECT count(*) AS requests FROM mock_requests;
