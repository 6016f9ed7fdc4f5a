-- The google_sheets connector against the mock's Sheets API: header-row mapping, A1 ranges, blocks of
-- rows, append and update, IMPORT FOREIGN SCHEMA from the spreadsheet's sheets.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/sheets/v4' AS sheets_url \gset
CREATE SERVER gs FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'google_sheets', base_url :'sheets_url', auth 'bearer', spreadsheet_id 'sheetMock1', rate_limit '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER gs OPTIONS (token 'test-token');
SELECT name, columns FROM connector_fdw.list_resources('gs');
IMPORT FOREIGN SCHEMA sheets FROM SERVER gs INTO public;
SELECT table_name, column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'public' AND table_name IN ('orders', 'team_s_notes', 'report') ORDER BY table_name, ordinal_position;

SELECT reset_mock();
SELECT count(*) FROM orders;
SELECT * FROM orders LIMIT 3;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT * FROM orders WHERE amount > 50$$);
CREATE FOREIGN TABLE report_part (region text, total numeric) SERVER gs OPTIONS (sheet 'Report', range 'B3:C');
SELECT * FROM report_part;

-- required_column: a row is a record exactly when its email is filled, and scans read only the columns a
-- query uses plus that one (values:batchGet, one range per run of adjacent columns).
CREATE FOREIGN TABLE contacts (row_number bigint, name text, phone text, email text, city text)
  SERVER gs OPTIONS (spreadsheet_id 'sheetMockOdd', sheet 'Contacts');
SELECT count(*) FROM contacts;
ALTER FOREIGN TABLE contacts OPTIONS (ADD required_column 'email');
SELECT reset_mock();
SELECT row_number, name FROM contacts;
SELECT count(*) FROM contacts;
SELECT name FROM contacts WHERE city = 'London';
SELECT name FROM contacts LIMIT 1;
SELECT request FROM requests;
EXPLAIN (COSTS OFF) SELECT name FROM contacts;
SELECT same_without_pushdown($$SELECT name, phone FROM contacts WHERE phone IS NULL$$);
ALTER FOREIGN TABLE contacts OPTIONS (SET required_column 'Email');
SELECT * FROM contacts;
ALTER FOREIGN TABLE contacts OPTIONS (SET required_column 'row_number');
SELECT * FROM contacts;
DROP FOREIGN TABLE contacts;

SELECT reset_mock();
INSERT INTO orders (amount) VALUES (12.5) RETURNING row_number;
UPDATE orders SET amount = 99 WHERE row_number = 13;
SELECT request FROM requests;
DELETE FROM orders WHERE row_number = 13;

-- A service account's JSON key (a throwaway test key): stored encrypted, exchanged for a token (JWT grant).
SELECT jsonb_set(pg_read_file(:'data' || '/service_account.json')::jsonb, '{token_uri}',
                 to_jsonb(:'mock' || '/sheets/oauth2/token'))::text AS sa_key \gset
CREATE SERVER gs_sa FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'google_sheets', base_url :'sheets_url', auth 'service_account', spreadsheet_id 'sheetMock1', rate_limit '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER gs_sa OPTIONS (service_account_key :'sa_key');
SELECT option_name, option_value LIKE 'cfdw2:%' AS encrypted
  FROM pg_user_mappings, pg_options_to_table(umoptions) WHERE srvname = 'gs_sa';
CREATE FOREIGN TABLE orders_sa (order_id numeric OPTIONS (header 'Order ID'), amount numeric) SERVER gs_sa OPTIONS (sheet 'Orders');
SELECT reset_mock();
SELECT count(*), sum(amount) FROM orders_sa;
SELECT method, path FROM mock_requests WHERE path LIKE '%/token' ORDER BY seq;
ALTER USER MAPPING FOR CURRENT_USER SERVER gs_sa OPTIONS (SET service_account_key '{"type": "service_account"}');
SELECT count(*) FROM orders_sa;

-- Text columns are written so they read back unchanged (a leading ' under USER_ENTERED: no formula
-- injection, no '007' turned into 7); numbers, booleans and dates keep their types. INSERT and UPDATE alike.
CREATE FOREIGN TABLE orders_typed (row_number bigint, customer text OPTIONS (header 'Customer'),
  amount numeric OPTIONS (header 'Amount'), paid boolean OPTIONS (header 'Paid'), day date OPTIONS (header 'Date'))
  SERVER gs OPTIONS (sheet 'Orders');
SELECT reset_mock();
INSERT INTO orders_typed (customer, amount, paid, day) VALUES
  ('007', 1.5, true, '2024-03-05'), ('TRUE', 2, false, NULL), ('=1+1', NULL, NULL, NULL), ('+1', NULL, NULL, NULL),
  ('-1', NULL, NULL, NULL), ('@x', NULL, NULL, NULL), ('2024-3-5', NULL, NULL, NULL)
  RETURNING row_number, customer;
SELECT row_number, customer, amount, paid, day FROM orders_typed WHERE row_number > 32 ORDER BY row_number;
SELECT query, body -> 'values' AS cells FROM mock_requests WHERE method = 'POST';
SELECT reset_mock();
UPDATE orders_typed SET customer = '=HYPERLINK("http://evil.example")', amount = 7, day = '2024-04-01' WHERE row_number = 2;
SELECT row_number, customer, amount, day FROM orders_typed WHERE row_number = 2;
SELECT body FROM mock_requests WHERE method = 'POST';
-- base_url may be the provider's origin: the documented /v4 is added.
CREATE SERVER gs_origin FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'google_sheets', base_url :'mock', auth 'bearer', spreadsheet_id 'sheetMock1', rate_limit '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER gs_origin OPTIONS (token 'test-token');
CREATE FOREIGN TABLE orders_origin (customer text OPTIONS (header 'Customer')) SERVER gs_origin OPTIONS (sheet 'Orders');
SELECT reset_mock();
SELECT count(*) FROM orders_origin;
SELECT DISTINCT method, split_part(path, '/', 2) AS first_segment FROM mock_requests;
