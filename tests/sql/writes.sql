-- INSERT, UPDATE and DELETE on foreign tables: requests to the provider, inserts batched to its limit,
-- RETURNING from its answers.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE FOREIGN TABLE people (
  id int OPTIONS (filter_param 'id'), name text, email text, country text OPTIONS (filter_param 'country'),
  amount numeric, city text OPTIONS (path '$.address.city'), tags text[]
) SERVER mock OPTIONS (path '/n/50/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100', batch_size '10');
CREATE VIEW writes AS
  SELECT method, path, CASE WHEN jsonb_typeof(body) = 'array' THEN jsonb_array_length(body) || ' records' ELSE body::text END AS body
  FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
SELECT reset_mock();

-- One row: the provider's answer (its new id) comes back through RETURNING.
INSERT INTO people (name, email, country, amount, city, tags)
VALUES ('Ada', 'ada@example.com', 'GB', 12.50, 'London', ARRAY['math', NULL])
RETURNING id, name, amount, city, tags;
SELECT * FROM writes;

-- 25 rows to a provider that takes at most 10 per request: 3 requests.
SELECT reset_mock();
INSERT INTO people (name, country) SELECT 'Batch ' || g, 'SE' FROM generate_series(1, 25) g;
SELECT * FROM writes;
SELECT count(*) FROM people WHERE country = 'SE' AND name LIKE 'Batch %';

-- COPY goes the same way.
SELECT reset_mock();
COPY people (name, country) FROM STDIN WITH (FORMAT csv);
Copied One,NL
Copied Two,NL
\.
SELECT * FROM writes;

-- UPDATE and DELETE find the rows (conditions pushed as for any scan) and address each by its key.
SELECT reset_mock();
UPDATE people SET amount = 99.99, city = 'Paris' WHERE id = 3 RETURNING id, amount, city;
DELETE FROM people WHERE id IN (4, 5);
SELECT * FROM writes;
SELECT id, amount, city FROM people WHERE id BETWEEN 3 AND 5 ORDER BY id;
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO people (name) SELECT 'x' FROM generate_series(1, 3);
EXPLAIN (VERBOSE, COSTS OFF) UPDATE people SET amount = 1 WHERE id = 6;
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM people WHERE country = 'DE';

-- A provider that refuses a request: the statement fails and the error quotes the provider.
ALTER FOREIGN TABLE people OPTIONS (SET batch_size '20');
SELECT reset_mock();
INSERT INTO people (name) SELECT 'Too many ' || g FROM generate_series(1, 15) g;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM people WHERE name LIKE 'Too many %';
UPDATE people SET name = 'Nobody' WHERE id = 1000;
DELETE FROM people WHERE id = 999999;

-- Rows need a key column to be updated or deleted; read-only connectors refuse writes.
CREATE FOREIGN TABLE unkeyed (name text) SERVER mock OPTIONS (path '/n/50/page/customers', rows '$.data[*]');
UPDATE unkeyed SET name = 'x';
CREATE FOREIGN TABLE keyed_by_email (email text, name text) SERVER mock
  OPTIONS (path '/n/50/page/customers', rows '$.data[*]', key_column 'email');
EXPLAIN (COSTS OFF) DELETE FROM keyed_by_email WHERE name = 'Customer 7';
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
\set file :data '/people.csv'
CREATE FOREIGN TABLE readonly (id int, name text) SERVER files OPTIONS (path :'file');
INSERT INTO readonly VALUES (1, 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT table_name, is_insertable_into FROM information_schema.tables WHERE table_name IN ('people', 'readonly') ORDER BY 1;
