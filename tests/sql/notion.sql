-- The notion connector against the mock's Notion API: database queries with typed filters, sorts and
-- start_cursor paging, every property type, page writes, IMPORT FOREIGN SCHEMA from search.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/notion/v1' AS notion_url \gset
CREATE SERVER n FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'notion', base_url :'notion_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER n OPTIONS (token 'test-token');
SELECT name, columns FROM connector_fdw.list_resources('n');
CREATE SCHEMA nt;
IMPORT FOREIGN SCHEMA notion FROM SERVER n INTO nt;
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'nt' ORDER BY table_name, ordinal_position;

SELECT reset_mock();
SELECT count(*) FROM nt.tasks;
SELECT method, path, body, headers ->> 'notion-version' AS notion_version FROM mock_requests ORDER BY seq;
SELECT * FROM nt.tasks ORDER BY created_time LIMIT 2;
SELECT reset_mock();
SELECT count(*) FROM nt.tasks WHERE priority <> 'High';
SELECT body -> 'filter' AS filter FROM mock_requests ORDER BY seq;
SELECT same_without_pushdown($$SELECT id FROM nt.tasks WHERE priority <> 'High'$$);
SELECT same_without_pushdown($$SELECT id FROM nt.tasks WHERE estimate IS NULL$$);
SELECT same_without_pushdown($$SELECT id FROM nt.tasks WHERE NOT done$$);
SELECT same_without_pushdown($$SELECT id FROM nt.tasks WHERE estimate > 2 AND priority IN ('High', 'Low')$$);
SELECT reset_mock();
SELECT id IS NOT NULL FROM nt.tasks ORDER BY created_time DESC LIMIT 3;
SELECT body FROM mock_requests ORDER BY seq;

-- Writes: create a page, update it, archive it (reset_mock would also restore the mock's pages).
SELECT reset_mock();
INSERT INTO nt.tasks (name, done) VALUES ('Written from SQL', true) RETURNING id IS NOT NULL AS has_id, name, done;
SELECT id AS new_id FROM nt.tasks WHERE name = 'Written from SQL' \gset
UPDATE nt.tasks SET estimate = 4, priority = 'Low' WHERE id = :'new_id' RETURNING name, estimate, priority;
DELETE FROM nt.tasks WHERE id = :'new_id';
SELECT method, regexp_replace(path, '[0-9a-f-]{36}$', 'ID') AS path, body FROM mock_requests
 WHERE NOT (method = 'POST' AND path LIKE '%/query') ORDER BY seq;
SELECT count(*) FROM nt.tasks WHERE name = 'Written from SQL';
UPDATE nt.tasks SET score = '1' WHERE id = '0b1ec7a5-0000-4000-8000-000000000001';
