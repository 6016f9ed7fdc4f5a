-- The airtable connector against the mock's Airtable API: offset paging, conditions as one filterByFormula,
-- sort[], maxRecords, fields[], writes in batches of 10, IMPORT FOREIGN SCHEMA from the Meta API.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/airtable/v0' AS airtable_url \gset
CREATE SERVER at FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'airtable', base_url :'airtable_url', base_id 'appMockBase000001');
CREATE USER MAPPING FOR CURRENT_USER SERVER at OPTIONS (token 'test-token');
SELECT name, columns FROM connector_fdw.list_resources('at');
SELECT ok FROM connector_fdw.test_connection('at');
CREATE SCHEMA air;
IMPORT FOREIGN SCHEMA airtable FROM SERVER at INTO air;
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'air' ORDER BY table_name, ordinal_position;

SELECT reset_mock();
SELECT count(*) FROM air.projects;
SELECT request FROM requests;
-- Quotes inside strings are escaped in the formula.
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM air.projects WHERE name = 'O''Brien''s plan';
SELECT name FROM air.projects WHERE name = 'O''Brien''s plan';
-- Blank cells: Airtable compares them equal to 0, '' and false; the formula keeps what SQL keeps.
SELECT same_without_pushdown($$SELECT id, name, budget FROM air.projects WHERE budget = 0$$);
SELECT same_without_pushdown($$SELECT id, name FROM air.projects WHERE budget IS NULL$$);
SELECT same_without_pushdown($$SELECT id, name FROM air.projects WHERE name IN ('Project 1', 'Project 2', 'O''Brien''s plan')$$);
SELECT same_without_pushdown($$SELECT id, budget FROM air.projects WHERE budget > 100 AND budget <= 5000$$);
SELECT reset_mock();
SELECT name, budget FROM air.projects ORDER BY budget DESC NULLS LAST LIMIT 3;
SELECT request FROM requests;
-- Airtable puts blanks last, Postgres' DESC first; a pushed condition that excludes blanks makes the order
-- the same, so the sort and the limit go too: one request.
SELECT reset_mock();
SELECT name, budget FROM air.projects WHERE budget > 100 ORDER BY budget DESC LIMIT 3;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT name, budget FROM air.projects WHERE budget > 100 ORDER BY budget DESC, name LIMIT 3$$, true);
SELECT same_without_pushdown($$SELECT name, budget FROM air.projects ORDER BY budget DESC, name LIMIT 3$$, true);
-- Without one, the sort is read in two phases in Postgres' order, each with the LIMIT still needed: for DESC
-- the blank budgets (IS NULL) first, then the others sorted; for ASC the others first. At most 2 requests.
SELECT reset_mock();
SELECT name, budget FROM air.projects ORDER BY budget DESC LIMIT 3;
SELECT request FROM requests;
EXPLAIN (VERBOSE, COSTS OFF) SELECT name, budget FROM air.projects ORDER BY budget DESC LIMIT 3;
SELECT reset_mock();
SELECT name, budget FROM air.projects ORDER BY budget LIMIT 3;
SELECT request FROM requests;
SELECT reset_mock();
SELECT name, budget FROM air.projects ORDER BY budget DESC LIMIT 3 OFFSET 1;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT name, budget FROM air.projects ORDER BY budget DESC, name DESC NULLS LAST LIMIT 3$$, true);
SELECT same_without_pushdown($$SELECT name, budget FROM air.projects ORDER BY budget DESC, name DESC NULLS LAST LIMIT 4 OFFSET 1$$, true);
SELECT same_without_pushdown($$SELECT name, budget FROM air.projects ORDER BY budget, name DESC NULLS LAST$$, true);

-- Writes: creates in batches of 10.
SELECT reset_mock();
INSERT INTO air.projects (name) SELECT 'Batch ' || g FROM generate_series(1, 25) g;
SELECT method, path, jsonb_array_length(body -> 'records') AS records FROM mock_requests ORDER BY seq;
SELECT reset_mock();
UPDATE air.projects SET notes = 'x' WHERE id = 'recMock0000000002';
DELETE FROM air.projects WHERE id = 'recMock0000000003';
SELECT request FROM requests;
UPDATE air.projects SET score = 1 WHERE id = 'recMock0000000002';
-- Updates and deletes of many rows go 10 to a request too; RETURNING needs each row's answer, so it sends
-- them one at a time.
SELECT reset_mock();
UPDATE air.projects SET notes = 'bulk' WHERE name LIKE 'Project %';
SELECT method, jsonb_array_length(body -> 'records') AS records FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
SELECT count(*) FROM air.projects WHERE notes = 'bulk';
-- EXPLAIN ANALYZE counts the last batch, sent when the statement ends (lines without timings shown).
CREATE FUNCTION explain_lines(query text, pattern text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query LOOP
    -- PostgreSQL 18 prints whole row counts with two decimals.
    IF line ~ pattern THEN RETURN NEXT regexp_replace(line, '(actual rows=\d+)\.00 ', '\1 '); END IF;
  END LOOP;
END $$;
SELECT reset_mock();
SELECT explain_lines($$DELETE FROM air.projects WHERE name LIKE 'Project 2%'$$, 'on air|Batch|Requests');
SELECT method, array_length(string_to_array(query, '&'), 1) AS records FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
SELECT count(*) FROM air.projects;
SELECT reset_mock();
UPDATE air.projects SET notes = 'one by one' WHERE name IN ('Project 1', 'Project 10') RETURNING name, notes;
SELECT method, jsonb_array_length(body -> 'records') AS records FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
-- A batch Airtable refuses fails the statement.
UPDATE air.projects SET score = 1 WHERE name LIKE 'Project %';

-- A personal access token covers many bases: the server needs no base_id; IMPORT's remote schema names the
-- base and the imported tables carry it. base_url may be the provider's origin (the mock's, here): /v0 is added.
CREATE SERVER at_token FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'airtable', base_url :'mock');
CREATE USER MAPPING FOR CURRENT_USER SERVER at_token OPTIONS (token 'test-token');
CREATE SCHEMA air2;
IMPORT FOREIGN SCHEMA airtable FROM SERVER at_token INTO air2;
SELECT reset_mock();
IMPORT FOREIGN SCHEMA "appMockBase000001" LIMIT TO (team) FROM SERVER at_token INTO air2;
SELECT c.relname, ftoptions FROM pg_foreign_table t JOIN pg_class c ON c.oid = t.ftrelid
 WHERE c.relnamespace = 'air2'::regnamespace;
SELECT count(*) FROM air2.team;
SELECT method, path FROM mock_requests ORDER BY seq;
-- A table of a server without base_id names its own.
CREATE FOREIGN TABLE air2.nobase (name text OPTIONS (field 'Name')) SERVER at_token OPTIONS (table 'Team');
