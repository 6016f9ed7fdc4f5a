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

SELECT reset_mock();
INSERT INTO orders (amount) VALUES (12.5) RETURNING row_number;
UPDATE orders SET amount = 99 WHERE row_number = 13;
SELECT request FROM requests;
DELETE FROM orders WHERE row_number = 13;
