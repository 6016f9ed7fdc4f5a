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

-- Rich text over 2,000 characters is sent as runs of at most 2,000 (Notion's limit per run) and reads back
-- whole; beyond 100 runs it is refused naming the column and the limit.
SELECT reset_mock();
INSERT INTO nt.tasks (name, notes) VALUES ('Long notes', repeat('0123456789', 450));
SELECT length(notes), notes = repeat('0123456789', 450) AS unchanged FROM nt.tasks WHERE name = 'Long notes';
SELECT array_agg(length(run #>> '{text,content}')) AS run_lengths
  FROM mock_requests, jsonb_array_elements(body #> '{properties,Notes,rich_text}') run
 WHERE method = 'POST' AND path LIKE '%/pages';
INSERT INTO nt.tasks (name, notes) VALUES ('Too long', repeat('x', 200001));
UPDATE nt.tasks SET notes = repeat('x', 200001) WHERE name = 'Long notes';

-- Notion puts empty values last in both directions: ORDER BY … DESC NULLS LAST is pushed as is; DESC (nulls
-- first) is read in two phases, the empty estimates (is_empty) first, then the others sorted.
ALTER FOREIGN TABLE nt.tasks ALTER COLUMN estimate OPTIONS (ADD sortable 'true');
EXPLAIN (VERBOSE, COSTS OFF) SELECT estimate FROM nt.tasks ORDER BY estimate DESC NULLS LAST;
EXPLAIN (VERBOSE, COSTS OFF) SELECT estimate FROM nt.tasks ORDER BY estimate DESC;
SELECT same_without_pushdown($$SELECT estimate FROM nt.tasks ORDER BY estimate DESC NULLS LAST$$, true);
SELECT same_without_pushdown($$SELECT estimate FROM nt.tasks ORDER BY estimate DESC$$, true);
SELECT same_without_pushdown($$SELECT estimate FROM nt.tasks ORDER BY estimate$$, true);
-- With LIMIT each phase asks only for the rows still needed: at most 2 requests; with a condition that
-- excludes empty values, one.
SELECT reset_mock();
SELECT estimate FROM nt.tasks ORDER BY estimate DESC LIMIT 3;
SELECT body FROM mock_requests ORDER BY seq;
SELECT reset_mock();
SELECT estimate FROM nt.tasks WHERE estimate >= 0 ORDER BY estimate DESC LIMIT 3;
SELECT count(*) AS requests FROM mock_requests;
SELECT same_without_pushdown($$SELECT estimate FROM nt.tasks ORDER BY estimate DESC LIMIT 3$$, true);
SELECT same_without_pushdown($$SELECT estimate FROM nt.tasks ORDER BY estimate DESC LIMIT 2 OFFSET 1$$, true);

-- Notion's 529 service_overload is retried like a 429, honouring Retry-After.
CREATE SERVER n_busy FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'notion', base_url :'mock', max_retries '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER n_busy OPTIONS (token 'test-token');
SELECT :'mock' || '/notion/529/1/v1' AS busy_url \gset
ALTER SERVER n_busy OPTIONS (SET base_url :'busy_url');
CREATE FOREIGN TABLE busy_tasks (name text OPTIONS (property 'Name', type 'title')) SERVER n_busy
  OPTIONS (database_id '5a1ad3b1-0000-4000-8000-0000000000a1');
SELECT reset_mock();
SELECT count(*) FROM busy_tasks;
SELECT method, path FROM mock_requests ORDER BY seq;
SELECT :'mock' || '/notion/529/always/v1' AS busy_url \gset
ALTER SERVER n_busy OPTIONS (SET base_url :'busy_url');
SELECT count(*) FROM busy_tasks;
