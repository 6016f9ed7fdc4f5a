-- connector_fdw.push(): a query's rows to a provider, through the target table's write path.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE FOREIGN TABLE outbox (id int, name text, email text, country text)
  SERVER mock OPTIONS (path '/n/50/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100', batch_size '10');

-- 1,000 rows to a provider that takes at most 10 per request: 100 requests.
SELECT reset_mock();
SELECT * FROM connector_fdw.push('outbox',
  $$SELECT 'Pushed ' || g AS name, 'p' || g || '@example.com' AS email FROM generate_series(1, 1000) g$$);
SELECT count(*) AS requests, min(jsonb_array_length(body)) AS smallest, max(jsonb_array_length(body)) AS largest
FROM mock_requests WHERE method = 'POST';

-- Rows the provider refuses are reported with its reason; the others are sent. A refused batch is sent
-- again row by row to find them.
SELECT reset_mock();
SELECT rows_sent, rows_failed, jsonb_pretty(failures) AS failures FROM connector_fdw.push('outbox',
  $$SELECT g AS id, 'Row ' || g AS name,
           CASE WHEN g IN (3, 14) THEN 'not-an-email' ELSE 'r' || g || '@example.com' END AS email
    FROM generate_series(1, 25) g$$);
SELECT count(*) AS requests FROM mock_requests WHERE method = 'POST';
SELECT count(*) AS created FROM outbox WHERE name LIKE 'Row %';

-- Asked to, the first refusal stops the push.
SELECT * FROM connector_fdw.push('outbox',
  $$SELECT 'Stop ' || g AS name, CASE WHEN g = 2 THEN 'bad' ELSE 's@example.com' END AS email FROM generate_series(1, 5) g$$,
  stop_on_error => true);

-- Bad input.
SELECT * FROM connector_fdw.push('outbox', 'SELECT 1 AS colour');
SELECT * FROM connector_fdw.push('outbox', 'SELECT nonsense');
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
\set file :data '/people.csv'
CREATE FOREIGN TABLE readonly (id int, name text) SERVER files OPTIONS (path :'file');
SELECT * FROM connector_fdw.push('readonly', 'SELECT 1 AS id');
CREATE SERVER down FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://127.0.0.1:1', max_retries '0');
CREATE FOREIGN TABLE unreachable (name text) SERVER down OPTIONS (path '/x');
SELECT * FROM connector_fdw.push('unreachable', $$SELECT 'x' AS name$$);
