-- The response cache: repeated scans within cache_ttl are answered without requests, per identity,
-- dropped by writes and by cache_clear(), and never poisoned by a scan that stopped early.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT connector_fdw.cache_clear();
-- The request log goes through the uncached server `mock`; the cached tables through `cached`.
CREATE SERVER cached FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', auth 'bearer', cache_ttl '300');
CREATE USER MAPPING FOR CURRENT_USER SERVER cached OPTIONS (token 'first-token');
CREATE FOREIGN TABLE people (id int OPTIONS (filter_param 'id'), name text, country text OPTIONS (filter_param 'country'))
  SERVER cached OPTIONS (path '/n/300/page/customers', rows '$.data[*]', total_path '$.total', pagination 'page',
  page_param '_page', page_size_param '_limit', page_size '100');
CREATE VIEW request_count AS SELECT count(*) AS requests FROM mock_requests;
-- Scans count ids: count(*) would be answered by one request for the total (total_path), not the pages.

-- The first scan asks the provider; the same scan again, in a new session, asks nothing.
SELECT reset_mock();
SELECT count(*), sum(id) FROM people;
SELECT * FROM request_count;
\c
SELECT reset_mock();
SELECT count(*), sum(id) FROM people;
SELECT * FROM request_count;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT * FROM people;
-- Another request (a pushed condition) is another entry.
SELECT count(id) FROM people WHERE country = 'DE';
SELECT * FROM request_count;
SELECT cache_hits > 0 AS counted, cache_bytes > 0 AS bytes_counted FROM connector_fdw.stats WHERE server = 'cached';

-- Another role, with its own mapping, never reads the first role's entries.
CREATE ROLE cfdw_cache_other;
GRANT USAGE ON FOREIGN SERVER cached, mock TO cfdw_cache_other;
GRANT SELECT ON people, mock_requests, mock_reset, request_count TO cfdw_cache_other;
CREATE USER MAPPING FOR cfdw_cache_other SERVER cached OPTIONS (token 'other-token');
SELECT reset_mock();
SET ROLE cfdw_cache_other;
SELECT count(id) FROM people;
SELECT * FROM request_count;
RESET ROLE;

-- A scan stopped by LIMIT keeps only the responses it read in full (here one, with the limit pushed into
-- the request): a later full scan is complete and correct.
SELECT connector_fdw.cache_clear('cached') > 0 AS cleared;
SELECT reset_mock();
SELECT id FROM people LIMIT 2;
SELECT * FROM request_count;
SELECT count(*), sum(id) FROM people;
SELECT * FROM request_count;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT * FROM people WHERE country = 'FR';

-- A write through any table of the server drops its entries.
SELECT reset_mock();
SELECT count(id) FROM people;
SELECT * FROM request_count;
INSERT INTO people (name, country) VALUES ('New', 'SE');
SELECT count(id) FROM people;
SELECT count(*) FILTER (WHERE method = 'GET') AS reads FROM mock_requests;

-- connector_fdw.use_cache off reads fresh responses; so does sync() unless told use_cache => true.
SELECT reset_mock();
SET connector_fdw.use_cache = off;
SELECT count(id) FROM people;
RESET connector_fdw.use_cache;
SELECT * FROM request_count;
CREATE TABLE people_copy (id int PRIMARY KEY, name text, country text);
SELECT reset_mock();
SELECT status, rows_fetched FROM connector_fdw.sync('people', 'people_copy', 'full', key => '{id}');
SELECT * FROM request_count;
SELECT reset_mock();
SELECT status, rows_fetched FROM connector_fdw.sync('people', 'people_copy', 'full', key => '{id}', use_cache => true);
SELECT * FROM request_count;
SHOW connector_fdw.use_cache;

-- A table's cache_ttl wins over the server's, also for entries kept before it was set; after it, the
-- provider is asked again.
ALTER FOREIGN TABLE people OPTIONS (ADD cache_ttl '0');
SELECT reset_mock();
SELECT count(id) FROM people;
SELECT count(id) FROM people;
SELECT * FROM request_count;
ALTER FOREIGN TABLE people OPTIONS (SET cache_ttl '1');
SELECT count(id) FROM people;
SELECT pg_sleep(1.5);
SELECT reset_mock();
SELECT count(id) FROM people;
SELECT * FROM request_count;

-- Bad settings are refused with the valid range.
CREATE SERVER bad FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', cache_ttl '-1');
CREATE SERVER bad FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', cache_ttl 'soon');
ALTER FOREIGN TABLE people OPTIONS (SET cache_ttl '1e9');
-- (Postgres words the GUC range differently from 18 on: only the SQLSTATE is compared.)
\set VERBOSITY sqlstate
SET connector_fdw.cache_size = '-1';
\set VERBOSITY default
SET connector_fdw.cache_size = 'plenty';
SET connector_fdw.cache_size = '1MB';
SHOW connector_fdw.cache_size;
SELECT connector_fdw.cache_clear('no_such_server');

DROP OWNED BY cfdw_cache_other;
DROP ROLE cfdw_cache_other;
