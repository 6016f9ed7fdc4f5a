-- The shipped close definition against the mock's Close API: _skip/_limit paging with has_more, _fields
-- for the columns used, date ranges, WHERE id = … as one read, writes, Close's error bodies.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/close' AS close_url \gset
CREATE SERVER close FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'close', base_url :'close_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER close OPTIONS (user 'test-token', password '');
CREATE SCHEMA c;
IMPORT FOREIGN SCHEMA close FROM SERVER close INTO c;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'c' ORDER BY 1;

SELECT reset_mock();
SELECT count(*) FROM c.leads;
SELECT name FROM c.leads WHERE id = 'lead_0002';
SELECT id, value FROM c.opportunities WHERE status_type = 'won' AND date_created >= '2024-01-03' AND date_updated < '2024-01-09';
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT id, status_type, date_created FROM c.opportunities WHERE date_created >= '2024-01-03'$$);

SELECT reset_mock();
INSERT INTO c.leads (name) VALUES ('Lead from SQL') RETURNING id LIKE 'lead_%' AS close_id, name;
INSERT INTO c.leads (url) VALUES ('https://nameless.example.com');
SELECT method, path FROM mock_requests ORDER BY seq;

-- Custom fields: IMPORT adds one column per field (custom.cf_… members); reads and writes use them.
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'c' AND table_name = 'leads' ORDER BY ordinal_position;
SELECT reset_mock();
SELECT id, lead_source, employees FROM c.leads ORDER BY id LIMIT 2;
UPDATE c.leads SET employees = 99 WHERE id = 'lead_0002';
SELECT method, path, query, body FROM mock_requests ORDER BY seq;

-- Conditions become terms of Close's search query (rechecked by Postgres), ORDER BY a sort: term; other
-- objects sort with _order_by.
SELECT reset_mock();
SELECT id FROM c.leads WHERE status_label = 'Potential' AND date_updated >= '2024-01-04' ORDER BY date_created DESC;
SELECT method, path, query FROM mock_requests ORDER BY seq;
SELECT same_without_pushdown($$SELECT id FROM c.leads WHERE name = 'Acme "6"' OR status_label = 'Customer'$$);
SELECT same_without_pushdown($$SELECT id FROM c.leads WHERE date_updated > '2024-01-07 09:00:30+00'$$);
SELECT reset_mock();
SELECT id FROM c.opportunities WHERE status_type = 'won' ORDER BY date_created DESC LIMIT 2;
SELECT method, path, query FROM mock_requests ORDER BY seq;
