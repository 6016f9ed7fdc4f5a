-- Joins on a column whose `=` is pushed: a parameterized scan sends one request per outer key instead of
-- reading every page; many keys read the table once (a hash join). Results never depend on it.
\i :tests/helpers/setup.psql
CREATE TABLE picks (id int);
INSERT INTO picks VALUES (3), (17), (42), (512), (1999);
CREATE TABLE many AS SELECT g AS id FROM generate_series(1, 1500) g;
CREATE TABLE odd_picks (id int);
INSERT INTO odd_picks VALUES (3), (3), (3), (42), (NULL), (5000);
ANALYZE picks, many, odd_picks;

-- Five local keys: a Nested Loop over a parameterized scan, the join's parameter ($0) in the request.
EXPLAIN (COSTS OFF) SELECT c.id, c.name FROM picks p JOIN customers c ON c.id = p.id;
EXPLAIN (VERBOSE, COSTS OFF) SELECT c.id, c.name FROM picks p JOIN customers c ON c.id = p.id;
-- Five requests, one per key (a full scan is 20 pages of 100).
SELECT reset_mock();
SELECT c.id, c.name, c.country FROM picks p JOIN customers c ON c.id = p.id ORDER BY c.id;
SELECT * FROM requests;
-- EXPLAIN ANALYZE counts the requests of every rescan; the request shows its parameter.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT c.id FROM picks p JOIN customers c ON c.id = p.id;
SELECT same_without_pushdown($$SELECT p.id, c.name FROM picks p JOIN customers c ON c.id = p.id$$);

-- The key on either side of `=`, and with conditions on the foreign table: they go with every request.
SELECT reset_mock();
SELECT c.id, c.country FROM picks p, customers c WHERE p.id = c.id AND c.country <> 'FR' ORDER BY 1;
SELECT * FROM requests;
SELECT same_without_pushdown($$SELECT c.id, c.country FROM picks p, customers c WHERE p.id = c.id AND c.country <> 'FR'$$);

-- Duplicated keys, a NULL key and a key that does not exist: no request for NULL, none twice for one key
-- (under a Memoize), no row for 5000.
EXPLAIN (COSTS OFF) SELECT c.id FROM odd_picks p JOIN customers c ON c.id = p.id;
SELECT reset_mock();
SELECT p.id, c.name FROM odd_picks p JOIN customers c ON c.id = p.id ORDER BY 1;
SELECT * FROM requests;
SELECT same_without_pushdown($$SELECT p.id, c.name FROM odd_picks p JOIN customers c ON c.id = p.id$$);

-- A LEFT JOIN keeps the outer rows without a match.
SELECT reset_mock();
SELECT p.id, c.name FROM odd_picks p LEFT JOIN customers c ON c.id = p.id ORDER BY 1, 2;
SELECT count(*) AS requests FROM mock_requests;
SELECT same_without_pushdown($$SELECT p.id, c.name FROM odd_picks p LEFT JOIN customers c ON c.id = p.id$$);

-- Many keys: one full scan and a hash join, not 1,500 requests.
EXPLAIN (COSTS OFF) SELECT count(*) FROM many m JOIN customers c ON c.id = m.id;
SELECT reset_mock();
SELECT count(*) FROM many m JOIN customers c ON c.id = m.id;
SELECT count(*) AS requests FROM mock_requests;
SELECT same_without_pushdown($$SELECT m.id, c.name FROM many m JOIN customers c ON c.id = m.id$$);

-- A column without a pushed `=` (amount has >= and <= only) is joined locally.
EXPLAIN (COSTS OFF) SELECT c.id FROM picks p JOIN customers c ON c.amount = p.id;

-- connector_fdw.pushdown = off: no parameterized scan, every page is read.
SET connector_fdw.pushdown = off;
EXPLAIN (COSTS OFF) SELECT c.id, c.name FROM picks p JOIN customers c ON c.id = p.id;
SELECT reset_mock();
SELECT count(*) FROM picks p JOIN customers c ON c.id = p.id;
SELECT count(*) AS requests FROM mock_requests;
RESET connector_fdw.pushdown;

-- Item lookups: each key is one GET of the record (a 404 is no row). With another condition sent the
-- lookup cannot serve it (the list would be read for every key), so the join reads the table once.
CREATE FOREIGN TABLE customer_items (
  id int,
  name text,
  country text OPTIONS (filter_param 'country')
) SERVER mock OPTIONS (
  path '/page/customers', rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit',
  page_size '100', item_lookup 'true'
);
EXPLAIN (VERBOSE, COSTS OFF) SELECT c.id, c.name FROM odd_picks p JOIN customer_items c ON c.id = p.id;
SELECT reset_mock();
SELECT p.id, c.name FROM odd_picks p JOIN customer_items c ON c.id = p.id ORDER BY 1;
SELECT * FROM requests;
SELECT same_without_pushdown($$SELECT p.id, c.name FROM odd_picks p LEFT JOIN customer_items c ON c.id = p.id$$);
EXPLAIN (COSTS OFF) SELECT c.id FROM picks p JOIN customer_items c ON c.id = p.id WHERE c.country = 'DE';
SELECT same_without_pushdown($$SELECT c.id FROM picks p JOIN customer_items c ON c.id = p.id WHERE c.country = 'DE'$$);

-- A built-in definition: Stripe retrieves a customer by id, and its Search API matches names ignoring
-- case (a superset): the join condition is sent and still checked by Postgres.
SELECT :'mock' || '/stripe' AS stripe_url \gset
CREATE SERVER stripe FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe OPTIONS (api_key 'sk_test_mock');
CREATE SCHEMA s;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers) FROM SERVER stripe INTO s;
CREATE TABLE wanted (id text, name text);
INSERT INTO wanted VALUES ('cus_0002', 'Chen Wei'), ('cus_0004', 'emil nolde'), ('cus_9999', 'Nobody');
ANALYZE wanted;
EXPLAIN (VERBOSE, COSTS OFF) SELECT c.id, c.email FROM wanted w JOIN s.customers c ON c.id = w.id;
SELECT reset_mock();
SELECT c.id, c.email FROM wanted w JOIN s.customers c ON c.id = w.id ORDER BY 1;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT c.id, c.email FROM wanted w JOIN s.customers c ON c.id = w.id$$);
EXPLAIN (VERBOSE, COSTS OFF) SELECT w.name, c.id FROM wanted w JOIN s.customers c ON c.name = w.name;
SELECT reset_mock();
SELECT w.name, c.id FROM wanted w JOIN s.customers c ON c.name = w.name ORDER BY 1, 2;
SELECT request FROM requests;
-- The provider's 'Emil Nolde' customers for 'emil nolde' are removed by the recheck (lines without timings).
CREATE FUNCTION explain_lines(query text, pattern text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query LOOP
    -- PostgreSQL 18 prints whole row counts with two decimals.
    IF line ~ pattern THEN RETURN NEXT regexp_replace(line, '(actual rows=\d+)\.00 ', '\1 '); END IF;
  END LOOP;
END $$;
SELECT explain_lines($$SELECT w.name, c.id FROM wanted w JOIN s.customers c ON c.name = w.name$$, 'Scan|Filter|Requests');
SELECT same_without_pushdown($$SELECT w.name, c.id FROM wanted w JOIN s.customers c ON c.name = w.name$$);

-- Airtable: a record id is `RECORD_ID()='…'` in filterByFormula, one request per id.
SELECT :'mock' || '/airtable/v0' AS airtable_url \gset
CREATE SERVER at FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'airtable', base_url :'airtable_url', base_id 'appMockBase000001');
CREATE USER MAPPING FOR CURRENT_USER SERVER at OPTIONS (token 'test-token');
CREATE SCHEMA air;
IMPORT FOREIGN SCHEMA airtable LIMIT TO (projects) FROM SERVER at INTO air;
CREATE TABLE project_ids AS SELECT id FROM air.projects ORDER BY id LIMIT 2;
ANALYZE project_ids;
SELECT reset_mock();
SELECT count(*) FROM project_ids i JOIN air.projects p ON p.id = i.id;
SELECT regexp_replace(request, 'rec[A-Za-z0-9]+', 'rec…', 'g') AS request FROM requests;
SELECT same_without_pushdown($$SELECT p.id, p.name FROM project_ids i JOIN air.projects p ON p.id = i.id$$);
