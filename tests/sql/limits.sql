-- max_concurrency and rate_limit hold per server across all backends (shared memory), and
-- connector_fdw.stats counts every backend's requests.
\i :tests/helpers/setup.psql
CREATE EXTENSION dblink;
SELECT dblink_connect('other', 'dbname=' || current_database() || ' host=127.0.0.1 port=' || current_setting('port'));

-- Two pages in flight at most, whoever asks: two backends scanning at once never exceed it.
CREATE SERVER narrow FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', max_concurrency '2');
CREATE FOREIGN TABLE slow_pages (id int) SERVER narrow OPTIONS (path '/delay/100/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
SELECT reset_mock();
SELECT dblink_send_query('other', 'SELECT count(*) FROM slow_pages');
SELECT count(*) FROM slow_pages;
SELECT * FROM dblink_get_result('other') AS r(n bigint);
SELECT * FROM dblink_get_result('other') AS r(n bigint);
SELECT requests, max_in_flight FROM mock_counts;

-- Ten requests a second, shared: two backends' requests together are spaced 100 ms apart.
CREATE SERVER paced FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', rate_limit '10', max_concurrency '8');
CREATE FOREIGN TABLE paced_pages (id int) SERVER paced OPTIONS (path '/n/500/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
SELECT reset_mock();
SELECT dblink_send_query('other', 'SELECT count(*) FROM paced_pages');
SELECT count(*) FROM paced_pages;
SELECT * FROM dblink_get_result('other') AS r(n bigint);
SELECT * FROM dblink_get_result('other') AS r(n bigint);
-- (The span, not each gap: the limit makes the requests take at least 100 ms each; a request held up on
-- its way to the mock must not shorten a gap below it.)
SELECT count(*) AS requests, max(at_ms) - min(at_ms) >= 80 * (count(*) - 1) AS spaced_by_the_rate_limit
FROM mock_requests;
SELECT server, requests, pages, throttled_ms > 0 AS throttled FROM connector_fdw.stats WHERE server = 'paced';

-- Each backend's requests count for the server.
SELECT connector_fdw.stats_reset();
SELECT count(*) FROM customers WHERE country = 'NL';
SELECT * FROM dblink('other', 'SELECT count(*) FROM customers WHERE country = ''NL''') AS r(n bigint);
SELECT server, requests, pages, bytes > 0 AS bytes, errors, retries, in_flight FROM connector_fdw.stats;

-- A rate limit lowered to one request per 1000 s, then raised: the raised limit holds at once for every
-- backend. (The first scan's second page waits for its start until statement_timeout cancels it; without
-- the change taking effect, the next scans would wait 1000 s, far past their 20 s timeout.)
CREATE SERVER throttled FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', rate_limit '0.001');
CREATE FOREIGN TABLE throttled_pages (id int) SERVER throttled OPTIONS (path '/n/300/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
SET statement_timeout = '500ms';
SELECT count(*) FROM throttled_pages;
ALTER SERVER throttled OPTIONS (SET rate_limit '100');
SET statement_timeout = '20s';
SELECT count(*) FROM throttled_pages;
SELECT dblink_exec('other', 'SET statement_timeout = ''20s''');
SELECT * FROM dblink('other', 'SELECT count(*) FROM throttled_pages') AS r(n bigint);
RESET statement_timeout;
-- Limits so low they would only block are refused.
ALTER SERVER throttled OPTIONS (SET rate_limit '0.0000001');
ALTER SERVER throttled OPTIONS (SET rate_limit '0');
SELECT dblink_disconnect('other');
