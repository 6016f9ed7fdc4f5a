-- connector_fdw demo: a REST API as foreign tables. Run by scripts/demo.sh, which passes the bundled demo
-- API's address as :'api'.
CREATE EXTENSION connector_fdw;

-- One server per remote system, one user mapping per role (credentials), one foreign table per collection.
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'api', auth 'bearer', max_concurrency '8');
CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (token 'test-token');

-- Column options declare what the API can filter and sort; the planner pushes exactly that.
CREATE FOREIGN TABLE customers (
  id int OPTIONS (sortable 'true'),
  name text,
  country text OPTIONS (filter_param 'country'),
  amount numeric OPTIONS (filter_param_gte 'amount_gte', filter_param_lte 'amount_lte', sortable 'true'),
  city text OPTIONS (path '$.address.city'),
  active boolean OPTIONS (filter_param 'active'),
  created_at timestamptz,
  tags text[]
) SERVER shop OPTIONS (
  path '/auth/bearer/page/customers', rows '$.data[*]',
  pagination 'page', page_param '_page', page_size_param '_limit', page_size '100',
  sort_param '_sort', order_param '_order'
);

-- A bad option is refused at once, with the valid ones listed.
CREATE FOREIGN TABLE oops (id int) SERVER shop OPTIONS (path '/x', pagesize '10');

-- Filter, sort and limit all go to the API: one request, five records.
SELECT id, name, country, amount FROM customers WHERE country = 'DE' ORDER BY amount DESC LIMIT 5;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, name, country, amount FROM customers WHERE country = 'DE' ORDER BY amount DESC LIMIT 5;

-- What the API cannot do (LIKE, here) Postgres does locally, and then LIMIT must stay local too.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, name FROM customers WHERE country = 'FR' AND name LIKE 'Customer 1%' ORDER BY amount DESC LIMIT 3;

-- Ranges, IN lists and booleans; everything else of SQL works on top.
SELECT country, count(*) AS customers, round(avg(amount), 2) AS avg_amount
FROM customers WHERE amount >= 5000 AND active AND country IN ('DE', 'FR', 'SE')
GROUP BY country ORDER BY country;

-- A full scan streams 2,000 records, fetching up to 8 pages at a time.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM customers;

-- Files work the same way (superusers or pg_read_server_files members may read server files).
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
CREATE FOREIGN TABLE people (id int, name text, city text, joined date, score numeric, active boolean)
  SERVER files OPTIONS (path :'people');
SELECT * FROM people ORDER BY id;

-- Providers: the demo API also imitates Stripe. A shipped definition makes it a connector; IMPORT
-- FOREIGN SCHEMA creates its tables, and conditions become Stripe's own parameters.
SELECT name, kind, resources FROM connector_fdw.connectors ORDER BY kind, name;
SELECT :'api' || '/stripe' AS stripe_url \gset
CREATE SERVER stripe FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe OPTIONS (api_key 'sk_test_mock');
CREATE SCHEMA stripe;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers, charges) FROM SERVER stripe INTO stripe;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, email FROM stripe.customers WHERE created >= '2024-01-05' AND email = 'customer7@example.com';
SELECT id, amount, customer_object ->> 'email' AS customer_email FROM stripe.charges ORDER BY id LIMIT 3;

-- Anything the tables do not cover is one authenticated call away, and never leaves the server's API.
SELECT connector_fdw.request('stripe', 'GET', '/v1/customers', query => '{"limit": 1}') -> 'data' -> 0 ->> 'email' AS first_customer;
SELECT connector_fdw.request('stripe', 'GET', 'https://evil.example.com/v1/customers');
