-- The shipped stripe definition against the mock's Stripe API: starting_after paging, pushed equality
-- filters and created ranges, WHERE id = … as one retrieve, form-encoded writes with Idempotency-Key.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/stripe' AS stripe_url \gset
CREATE SERVER stripe FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe OPTIONS (api_key 'sk_test_mock');
CREATE SCHEMA s;
IMPORT FOREIGN SCHEMA stripe FROM SERVER stripe INTO s;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 's' ORDER BY 1;

-- Paging: limit + starting_after (the last id of the page) until has_more is false.
ALTER FOREIGN TABLE s.customers OPTIONS (ADD page_size '5');
SELECT reset_mock();
SELECT count(*), min(id), max(id) FROM s.customers;
SELECT request FROM requests;
SELECT reset_mock();
SELECT id FROM s.customers LIMIT 2;
SELECT request FROM requests;

-- Documented filters and created ranges (Unix seconds) are pushed; id = … is one retrieve. created is the
-- lists' partition column.
SELECT reset_mock();
SELECT id, email FROM s.customers WHERE email = 'customer3@example.com' AND created >= '2024-01-02' AND created < '2024-03-01';
SELECT id, email, created FROM s.customers WHERE id = 'cus_0003';
SELECT id FROM s.customers WHERE id = 'cus_9999';
-- The range is walked in 4 windows of created at once (max_concurrency 4), logged in any order.
SELECT request FROM requests ORDER BY request;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM s.customers WHERE created > '2024-01-04' AND created <= '2024-01-06';
SELECT same_without_pushdown($$SELECT id, email, created FROM s.customers WHERE created > '2024-01-04 00:00:00.5+00' AND created <= '2024-01-09'$$);
SELECT same_without_pushdown($$SELECT id, type FROM s.prices WHERE active AND type = 'recurring'$$);
SELECT count(*) FROM s.subscriptions;

-- Writes: form-encoded, one Idempotency-Key per row; operations Stripe lacks fail before any request.
SELECT reset_mock();
INSERT INTO s.customers (email, name) VALUES ('new@example.com', 'New Customer') RETURNING id LIKE 'cus_%' AS stripe_id, email, name;
UPDATE s.customers SET name = 'Renamed' WHERE id = 'cus_0003' RETURNING id, name;
DELETE FROM s.customers WHERE id = 'cus_0002';
SELECT method, path, headers ? 'idempotency-key' AS idempotency_key,
       headers ->> 'content-type' AS content_type FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
DELETE FROM s.prices WHERE id = 'price_0001';

-- Stripe's error bodies.
CREATE SERVER stripe_bad FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe_bad OPTIONS (api_key 'sk_test_wrong');
CREATE FOREIGN TABLE bad_customers (id text) SERVER stripe_bad OPTIONS (object 'customers');
SELECT * FROM bad_customers;
CREATE FOREIGN TABLE nothing (id text) SERVER stripe OPTIONS (object 'refunds');

-- expand[]: only when the query reads the expanded column; the id column stays an id.
SELECT reset_mock();
SELECT id, customer FROM s.charges ORDER BY id LIMIT 2;
SELECT customer, customer_object ->> 'email' AS email FROM s.charges ORDER BY id LIMIT 2;
SELECT id AS charge_id FROM s.charges ORDER BY id LIMIT 1 \gset
SELECT customer_object ->> 'id' AS customer FROM s.charges WHERE id = :'charge_id';
SELECT request FROM requests;

-- Conditions that only the Search API can apply use it (Stripe's search is eventually consistent).
SELECT reset_mock();
SELECT id, amount, status FROM s.charges WHERE status = 'succeeded' AND amount >= 2000 ORDER BY id;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT id FROM s.charges WHERE status = 'succeeded' AND amount >= 2000$$);

-- A key that is not a secret or restricted key is refused before any request, without being shown.
CREATE SERVER stripe_pk FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe_pk OPTIONS (api_key 'pk_test_publishable123');
CREATE FOREIGN TABLE pk_customers (id text) SERVER stripe_pk OPTIONS (object 'customers');
SELECT reset_mock();
SELECT * FROM pk_customers;
SELECT count(*) AS requests FROM mock_requests;

-- The API version is a server option (Stripe-Version header), checked against Stripe's version shape.
CREATE SERVER stripe_v FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url', stripe_version '2023-10-16');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe_v OPTIONS (api_key 'sk_test_mock');
CREATE FOREIGN TABLE v_customers (id text) SERVER stripe_v OPTIONS (object 'customers');
SELECT reset_mock();
SELECT count(*) FROM v_customers;
SELECT DISTINCT headers ->> 'stripe-version' AS version FROM mock_requests;
CREATE SERVER stripe_badv FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', stripe_version 'June 2024');
CREATE SERVER stripe_typo FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', stripe_verison '2023-10-16');
-- Expanded objects are asked for only when their columns are read.
SELECT reset_mock();
SELECT id, invoice, invoice_object ->> 'number' AS number, payment_intent_object ->> 'id' AS intent FROM s.charges WHERE customer = 'cus_0004' ORDER BY id;
SELECT request FROM requests;
